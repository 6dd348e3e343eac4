"""C2SP signed notes (Ed25519) and tlog checkpoints for the audit log (pure: no Django).

A checkpoint ("origin\\nsize\\nbase64(root)\\n") signed as a C2SP signed note is the
standard, tool-interoperable way for a transparency log to commit to its Merkle root
(c2sp.org/signed-note, c2sp.org/tlog-checkpoint; same format as Go's
golang.org/x/mod/sumdb/note, whose PeterNeumann test vector this module reproduces).

Callers must *verify then parse*: ``open_note`` the bytes with the trusted verifiers and
only then ``Checkpoint.parse`` the returned text, because unsigned text means nothing.
"""

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "ALG_ED25519",
    "MAX_SIGNATURES",
    "Checkpoint",
    "CheckpointError",
    "InvalidKeyError",
    "InvalidSignatureError",
    "MalformedNoteError",
    "NoteError",
    "Signature",
    "Signer",
    "UnverifiedNoteError",
    "Verifier",
    "generate_signer",
    "key_hash",
    "open_note",
    "sign_note",
]

#: Signature type byte for Ed25519 (signed-note "Signature types").
ALG_ED25519 = 0x01

#: Go's limit; the spec requires accepting at least 16. Bounds work on hostile input.
MAX_SIGNATURES = 100

_SIG_PREFIX = "\u2014 "  # em dash, space
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_MAX_TREE_SIZE = 2**63 - 1  # int64, as in Go tlog and a PostgreSQL bigint


class NoteError(Exception):
    """Base class for every signed-note and checkpoint failure."""


class MalformedNoteError(NoteError):
    """The note does not follow the signed-note syntax."""


class InvalidKeyError(NoteError):
    """A signer/verifier key text is malformed or its key hash does not match."""


class InvalidSignatureError(NoteError):
    """A signature from a known key failed to verify; the whole note is rejected."""


class UnverifiedNoteError(NoteError):
    """No signature from a known key: the note must be rejected (signed-note §Signatures)."""


class CheckpointError(NoteError):
    """The note text is not a well-formed tlog checkpoint."""


def _is_valid_name(name: str) -> bool:
    """Key names: non-empty, no Unicode spaces, no '+' (signed-note §Format)."""
    return (
        bool(name)
        and "+" not in name
        and not any(ch.isspace() or ord(ch) < 0x20 for ch in name)
        and _is_utf8(name)
    )


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


def _b64decode(text: str) -> bytes:
    """Strict standard base64 (RFC 4648 §4): no whitespace, no URL alphabet, padded."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise ValueError("invalid base64") from exc


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def key_hash(name: str, encoded_public_key: bytes) -> int:
    """Key ID = SHA-256(name || 0x0A || type byte || public key)[:4] as a big-endian uint32."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + encoded_public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class Verifier:
    """Checks signatures by one named Ed25519 key; built from a vkey ``name+hash+base64``."""

    __slots__ = ("_public_key", "key_hash", "name")

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        if not _is_valid_name(name):
            raise InvalidKeyError(f"invalid key name {name!r}")
        self.name = name
        self._public_key = public_key
        self.key_hash = key_hash(name, bytes([ALG_ED25519]) + _raw_public(public_key))

    @classmethod
    def from_key_text(cls, vkey: str) -> "Verifier":
        """Parse ``<name>+<hex8 key hash>+<base64(0x01 || 32-byte public key)>``."""
        name, sep1, rest = vkey.partition("+")
        hash16, sep2, key64 = rest.partition("+")
        if not (sep1 and sep2 and _is_valid_name(name) and _HEX8.fullmatch(hash16)):
            raise InvalidKeyError("malformed verifier key")
        try:
            key = _b64decode(key64)
        except ValueError:
            raise InvalidKeyError("malformed verifier key") from None
        if not key or int(hash16, 16) != key_hash(name, key):
            raise InvalidKeyError("verifier key hash does not match the key")
        if key[0] != ALG_ED25519 or len(key) != 33:
            raise InvalidKeyError("unsupported verifier key algorithm or length")
        try:
            public_key = Ed25519PublicKey.from_public_bytes(key[1:])
        except ValueError:
            raise InvalidKeyError("invalid Ed25519 public key") from None
        return cls(name, public_key)

    @property
    def key_text(self) -> str:
        encoded = bytes([ALG_ED25519]) + _raw_public(self._public_key)
        return f"{self.name}+{self.key_hash:08x}+{_b64encode(encoded)}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            self._public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return f"Verifier({self.key_text!r})"


class Signer:
    """Signs with one named Ed25519 key; built from ``PRIVATE+KEY+name+hash+base64(0x01||seed)``.

    The key text is secret. ``repr`` deliberately shows only the public identity.
    """

    __slots__ = ("_private_key", "key_hash", "name")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not _is_valid_name(name):
            raise InvalidKeyError(f"invalid key name {name!r}")
        self.name = name
        self._private_key = private_key
        self.key_hash = self.verifier().key_hash

    @classmethod
    def from_key_text(cls, skey: str) -> "Signer":
        parts = skey.split("+", 4)
        if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
            raise InvalidKeyError("malformed signer key")
        _, _, name, hash16, key64 = parts
        if not (_is_valid_name(name) and _HEX8.fullmatch(hash16)):
            raise InvalidKeyError("malformed signer key")
        try:
            key = _b64decode(key64)
        except ValueError:
            raise InvalidKeyError("malformed signer key") from None
        if len(key) != 33 or key[0] != ALG_ED25519:
            raise InvalidKeyError("unsupported signer key algorithm or length")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(key[1:]))
        # The hash names the *public* key, so it can only be checked after derivation.
        if int(hash16, 16) != signer.key_hash:
            raise InvalidKeyError("signer key hash does not match the key")
        return signer

    @property
    def key_text(self) -> str:
        seed = self._private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return f"PRIVATE+KEY+{self.name}+{self.key_hash:08x}+{_b64encode(bytes([ALG_ED25519]) + seed)}"

    def verifier(self) -> Verifier:
        return Verifier(self.name, self._private_key.public_key())

    def sign(self, message: bytes) -> bytes:
        return self._private_key.sign(message)

    def __repr__(self) -> str:
        return f"Signer(name={self.name!r}, key_hash={self.key_hash:08x})"


def generate_signer(name: str) -> tuple[str, str]:
    """New Ed25519 key for ``name``; returns ``(signer_key_text, verifier_key_text)`` like Go's GenerateKey."""
    signer = Signer(name, Ed25519PrivateKey.generate())
    return signer.key_text, signer.verifier().key_text


@dataclass(frozen=True)
class Signature:
    """One verified signature line: key name, key ID and the base64 as it appeared."""

    name: str
    key_hash: int
    signature_b64: str


def _check_note_chars(text: str) -> None:
    """Notes are UTF-8 with no control characters except newline."""
    if not _is_utf8(text) or any(ord(ch) < 0x20 and ch != "\n" for ch in text):
        raise MalformedNoteError("note contains invalid UTF-8 or control characters")


def sign_note(text: str, *signers: Signer) -> str:
    """Return ``text`` + blank line + one ``— name base64(keyhash || sig)`` line per signer."""
    if not signers:
        raise ValueError("sign_note needs at least one signer")
    if not text.endswith("\n"):
        raise MalformedNoteError("note text must end with a newline")
    _check_note_chars(text)
    message = text.encode("utf-8")
    lines = []
    for signer in signers:
        sig = signer.key_hash.to_bytes(4, "big") + signer.sign(message)
        lines.append(f"{_SIG_PREFIX}{signer.name} {_b64encode(sig)}\n")
    return text + "\n" + "".join(lines)


def open_note(note: str | bytes, verifiers: Iterable[Verifier]) -> tuple[str, list[Signature]]:
    """Verify a signed note; return its text and the signatures made by known keys.

    Follows c2sp.org/signed-note: the text ends at the *last* blank line; signatures from
    unknown (name, key ID) pairs are ignored; any known signature that fails rejects the
    whole note (``InvalidSignatureError``); no known signature at all raises
    ``UnverifiedNoteError``. Repeated signatures by one key are counted once.
    """
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedNoteError("note is not valid UTF-8") from None
    _check_note_chars(note)

    known: dict[tuple[str, int], Verifier] = {}
    for v in verifiers:
        other = known.setdefault((v.name, v.key_hash), v)
        if other.key_text != v.key_text:
            raise InvalidKeyError(f"two different verifier keys named {v.name}+{v.key_hash:08x}")

    split = note.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("note has no blank line before its signatures")
    text, sig_block = note[: split + 1], note[split + 2 :]
    if not sig_block.endswith("\n"):
        raise MalformedNoteError("note must end with a signature line and a newline")
    message = text.encode("utf-8")

    lines = sig_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNoteError(f"note has more than {MAX_SIGNATURES} signatures")
    verified: list[Signature] = []
    seen: set[tuple[str, int]] = set()
    for line in lines:
        if not line.startswith(_SIG_PREFIX):
            raise MalformedNoteError(f"malformed signature line {line!r}")
        name, _, b64 = line[len(_SIG_PREFIX) :].partition(" ")
        try:
            raw = _b64decode(b64)
        except ValueError:
            raise MalformedNoteError(f"malformed signature line {line!r}") from None
        if not _is_valid_name(name) or len(raw) < 5:
            raise MalformedNoteError(f"malformed signature line {line!r}")
        ident = (name, int.from_bytes(raw[:4], "big"))
        verifier = known.get(ident)
        if verifier is None or ident in seen:
            continue  # unknown keys MUST be ignored; duplicates add nothing
        seen.add(ident)
        if not verifier.verify(message, raw[4:]):
            raise InvalidSignatureError(f"invalid signature for key {name}+{ident[1]:08x}")
        verified.append(Signature(name, ident[1], b64))

    if not verified:
        raise UnverifiedNoteError("note has no valid signature from a known key")
    return text, verified


@dataclass(frozen=True)
class Checkpoint:
    """A tlog checkpoint body (c2sp.org/tlog-checkpoint): origin, tree size, root, extensions."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "extensions", tuple(self.extensions))
        if not self.origin or "\n" in self.origin:
            raise CheckpointError("checkpoint origin must be a non-empty single line")
        if (
            isinstance(self.size, bool)
            or not isinstance(self.size, int)
            or not 0 <= self.size <= _MAX_TREE_SIZE
        ):
            raise CheckpointError(f"checkpoint size out of range: {self.size!r}")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != 32:
            raise CheckpointError("checkpoint root hash must be 32 bytes")
        for ext in self.extensions:
            if not isinstance(ext, str) or not ext or "\n" in ext:
                raise CheckpointError("checkpoint extension lines must be non-empty single lines")
        try:
            _check_note_chars(self.format())
        except MalformedNoteError:
            raise CheckpointError("checkpoint contains characters a signed note cannot carry") from None

    def format(self) -> str:
        lines = [self.origin, str(self.size), _b64encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> "Checkpoint":
        """Strictly parse a checkpoint body, as returned by ``open_note`` (never unverified text)."""
        if not text.endswith("\n"):
            raise CheckpointError("checkpoint must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError("checkpoint needs origin, size and root hash lines")
        origin, size_text, root_text, *extensions = lines
        # The length cap also keeps int() away from its huge-string limit.
        if len(size_text) > len(str(_MAX_TREE_SIZE)) or not _DECIMAL.fullmatch(size_text):
            raise CheckpointError(f"checkpoint size is not a canonical decimal in range: {size_text[:32]!r}")
        try:
            root = _b64decode(root_text)
        except ValueError:
            raise CheckpointError("checkpoint root hash is not base64") from None
        if len(root) != 32 or _b64encode(root) != root_text:
            raise CheckpointError("checkpoint root hash must be the canonical base64 of 32 bytes")
        return cls(origin, int(size_text), root, tuple(extensions))
