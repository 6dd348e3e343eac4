"""Authenticated encryption of personal data under per-subject data keys (DEKs).

Every assessment case or document gets its own random 256-bit data key. Personal data is
encrypted with AES-256-GCM under that key, and the key itself is stored only wrapped by a
key-encryption key (see ``hozen.crypto.kek``). Destroying a subject's wrapped data key therefore
makes all of that subject's ciphertext unreadable ("crypto-shredding"), including copies in
backups.

Associated data (AAD) binds each ciphertext to where it belongs (which row, which field), so a
ciphertext copied into another row or field fails to decrypt instead of silently showing one
person's data under another person's name. Build it with ``aad_for``.

Two formats are provided, both self-describing through a leading format-version byte so the
scheme can evolve without guessing:

Field blob (``encrypt`` / ``decrypt``), for values that fit comfortably in memory::

    0x01 | nonce (12 random bytes) | AES-256-GCM ciphertext | tag (16 bytes)
    GCM associated data = 0x01 | caller AAD   (the version byte is authenticated too)

Stream (``encrypt_stream`` / ``decrypt_stream``), for large documents. This is the STREAM
construction (Hoang, Reyhanitabar, Rogaway, Vizar 2015; also used by Google Tink)::

    header  = 0x01 | chunk_size (uint32 big-endian) | nonce prefix (7 random bytes)  -> 12 bytes
    chunk i = AES-256-GCM(nonce_i, plaintext chunk i, AAD = header | caller AAD) | tag (16 bytes)
    nonce_i = nonce prefix (7) | i (uint32 big-endian) | 0x01 if last chunk else 0x00

Every chunk except the last holds exactly ``chunk_size`` plaintext bytes; the last holds
0..chunk_size bytes (an empty input still produces one empty, authenticated last chunk). The
counter in the nonce detects reordering, the last-chunk flag detects truncation and extension,
and the per-stream random prefix plus the authenticated header detect chunks swapped in from
another stream.
"""

from __future__ import annotations

import os
import struct
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "CryptoError",
    "DecryptionError",
    "KEY_SIZE",
    "new_data_key",
    "encrypt",
    "decrypt",
    "aad_for",
    "encrypt_stream",
    "decrypt_stream",
]

KEY_SIZE = 32  # AES-256
NONCE_SIZE = 12  # the GCM standard nonce size; random 96-bit nonces are safe for far more than
# the handful of values one per-subject data key ever encrypts.
TAG_SIZE = 16

BLOB_VERSION = 1
_BLOB_HEADER = bytes([BLOB_VERSION])
_BLOB_MIN_SIZE = len(_BLOB_HEADER) + NONCE_SIZE + TAG_SIZE

STREAM_VERSION = 1
DEFAULT_CHUNK_SIZE = 1024 * 1024
# Upper bound accepted from a stream header, so a corrupt or hostile header cannot make the reader
# allocate gigabytes before authentication fails.
MAX_CHUNK_SIZE = 64 * 1024 * 1024
_STREAM_PREFIX_SIZE = 7
_STREAM_HEADER = struct.Struct(">BI7s")  # version, chunk_size, nonce prefix -> 12 bytes
_MAX_CHUNKS = 2**32  # the counter is 32 bits; 4 PiB at the default chunk size


class CryptoError(Exception):
    """Base class for every error raised by ``hozen.crypto``."""


class DecryptionError(CryptoError):
    """A ciphertext could not be authenticated or parsed; no plaintext is released."""


class Readable(Protocol):
    """Anything with a binary ``read(size)``, e.g. an open file or ``io.BytesIO``."""

    def read(self, size: int, /) -> bytes: ...


class Writable(Protocol):
    """Anything with a binary ``write(data)`` that writes all of ``data`` (buffered files do)."""

    def write(self, data: bytes, /) -> object: ...


def new_data_key() -> bytes:
    """Return a fresh random 256-bit data key (from the OS CSPRNG)."""
    return AESGCM.generate_key(bit_length=256)


def _cipher(dek: bytes) -> AESGCM:
    """Build an AES-256-GCM cipher, refusing anything but a 32-byte key.

    AESGCM would also accept 16- or 24-byte keys; a short key here is always a bug (e.g. a
    truncated column), so it is refused rather than silently weakening the encryption.
    """
    if not isinstance(dek, bytes | bytearray | memoryview) or len(dek) != KEY_SIZE:
        raise CryptoError(f"data key must be {KEY_SIZE} bytes")
    return AESGCM(bytes(dek))


def length_prefixed(*parts: bytes) -> bytes:
    """Concatenate byte strings unambiguously: each part is preceded by its uint32 length.

    Plain concatenation would make ("ab", "c") and ("a", "bc") identical, letting a ciphertext
    authenticate in a context it was not made for.
    """
    return b"".join(struct.pack(">I", len(part)) + part for part in parts)


def aad_for(owner: str, field: str) -> bytes:
    """Associated data binding a ciphertext to one owner (e.g. ``"case:42"``) and one field.

    Empty strings are refused because they usually mean a bug such as an unsaved row without a
    primary key.
    """
    if not isinstance(owner, str) or not isinstance(field, str):
        raise TypeError("aad_for(owner, field) takes two strings")
    if not owner or not field:
        raise ValueError("aad_for(owner, field): owner and field must be non-empty")
    return length_prefixed(b"hozen.aad.v1", owner.encode("utf-8"), field.encode("utf-8"))


def encrypt(dek: bytes, plaintext: bytes, aad: bytes) -> bytearray:
    """Encrypt ``plaintext`` under ``dek`` into a field blob bound to ``aad``.

    The blob (header, nonce, ciphertext and tag) is written in place into one ``bytearray`` of
    its final size (``AESGCM.encrypt_into``): a large document is neither copied before nor after
    encryption (docs/benchmarks.md). A ``bytearray`` compares equal to the same ``bytes`` and is
    stored as such by the database drivers.
    """
    cipher = _cipher(dek)
    size = memoryview(plaintext).nbytes
    blob = bytearray(1 + NONCE_SIZE + size + TAG_SIZE)
    blob[0] = BLOB_VERSION
    blob[1 : 1 + NONCE_SIZE] = os.urandom(NONCE_SIZE)
    view = memoryview(blob)
    cipher.encrypt_into(bytes(view[1 : 1 + NONCE_SIZE]), plaintext, _BLOB_HEADER + bytes(aad), view[1 + NONCE_SIZE :])
    return blob


def decrypt(dek: bytes, blob: bytes, aad: bytes) -> bytes:
    """Decrypt a field blob, raising ``DecryptionError`` unless key, AAD and blob all match."""
    cipher = _cipher(dek)
    view = memoryview(blob)  # slices of a view copy nothing: large documents are not copied twice
    if len(view) < _BLOB_MIN_SIZE:
        raise DecryptionError(f"ciphertext is too short ({len(view)} bytes) to be a Hozen blob")
    if view[0] != BLOB_VERSION:
        raise DecryptionError(f"unsupported ciphertext format version {view[0]}")
    nonce = bytes(view[1 : 1 + NONCE_SIZE])
    try:
        return cipher.decrypt(nonce, view[1 + NONCE_SIZE :], bytes(view[:1]) + bytes(aad))
    except InvalidTag:
        raise DecryptionError(
            "ciphertext failed authentication: wrong data key, wrong associated data "
            "(value moved to another row or field?), or tampered ciphertext"
        ) from None


def _read_full(reader: Readable, size: int) -> bytes:
    """Read exactly ``size`` bytes unless EOF comes first.

    ``read(n)`` on pipes, sockets and raw files may legally return fewer bytes; chunk boundaries
    must not depend on that, or decryption would split the stream differently.
    """
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        data = reader.read(remaining)
        if not data:
            break
        parts.append(data)
        remaining -= len(data)
    return b"".join(parts)


def _chunk_nonce(prefix: bytes, index: int, last: bool) -> bytes:
    if index >= _MAX_CHUNKS:
        raise CryptoError("stream too long: chunk counter exhausted")
    return prefix + struct.pack(">IB", index, 1 if last else 0)


def encrypt_stream(
    dek: bytes, reader: Readable, writer: Writable, aad: bytes, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> int:
    """Encrypt everything readable from ``reader`` into ``writer``; return ciphertext bytes written.

    Memory use is about two chunks, whatever the input size: one chunk is read ahead to know
    whether the current one is the last.
    """
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise CryptoError(f"chunk_size must be between 1 and {MAX_CHUNK_SIZE} bytes")
    cipher = _cipher(dek)
    prefix = os.urandom(_STREAM_PREFIX_SIZE)
    header = _STREAM_HEADER.pack(STREAM_VERSION, chunk_size, prefix)
    chunk_aad = header + bytes(aad)
    writer.write(header)
    written = len(header)
    index = 0
    current = _read_full(reader, chunk_size)
    while True:
        following = _read_full(reader, chunk_size) if len(current) == chunk_size else b""
        last = not following
        sealed = cipher.encrypt(_chunk_nonce(prefix, index, last), current, chunk_aad)
        writer.write(sealed)
        written += len(sealed)
        if last:
            return written
        current = following
        index += 1


def decrypt_stream(dek: bytes, reader: Readable, writer: Writable, aad: bytes) -> int:
    """Decrypt a stream from ``reader`` into ``writer``; return plaintext bytes written.

    Chunks are verified and written one at a time, so on ``DecryptionError`` the writer may
    already hold a prefix of the plaintext. Callers must treat the output as untrusted until
    this function returns, e.g. write to a temporary file and delete it on error.
    """
    cipher = _cipher(dek)
    header = _read_full(reader, _STREAM_HEADER.size)
    if len(header) < _STREAM_HEADER.size:
        raise DecryptionError("encrypted stream is truncated: incomplete header")
    version, chunk_size, prefix = _STREAM_HEADER.unpack(header)
    if version != STREAM_VERSION:
        raise DecryptionError(f"unsupported encrypted stream format version {version}")
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise DecryptionError(f"encrypted stream header has invalid chunk size {chunk_size}")
    chunk_aad = header + bytes(aad)
    sealed_size = chunk_size + TAG_SIZE
    written = 0
    index = 0
    current = _read_full(reader, sealed_size)
    while True:
        following = _read_full(reader, sealed_size) if len(current) == sealed_size else b""
        last = not following
        if len(current) < TAG_SIZE:
            raise DecryptionError("encrypted stream is truncated: incomplete chunk")
        try:
            plain = cipher.decrypt(_chunk_nonce(prefix, index, last), current, chunk_aad)
        except InvalidTag:
            raise DecryptionError(
                f"encrypted stream failed authentication at chunk {index}: wrong data key, wrong "
                "associated data, or the stream was tampered with, truncated, reordered or extended"
            ) from None
        writer.write(plain)
        written += len(plain)
        if last:
            return written
        current = following
        index += 1
