"""Field-blob and streaming envelope encryption: round trips and every way a ciphertext can lie."""

from __future__ import annotations

import io
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hozen.crypto.envelope import (
    CryptoError,
    DecryptionError,
    aad_for,
    decrypt,
    decrypt_stream,
    encrypt,
    encrypt_stream,
    new_data_key,
)

AAD = aad_for("case:42", "assessment_notes")
TAG = 16
HEADER = 12


def _flip(data: bytes, index: int) -> bytes:
    out = bytearray(data)
    out[index] ^= 0x01
    return bytes(out)


def _seal_stream(dek: bytes, plaintext: bytes, aad: bytes = AAD, chunk_size: int = 4) -> bytes:
    out = io.BytesIO()
    encrypt_stream(dek, io.BytesIO(plaintext), out, aad, chunk_size=chunk_size)
    return out.getvalue()


def _open_stream(dek: bytes, blob: bytes, aad: bytes = AAD) -> bytes:
    out = io.BytesIO()
    decrypt_stream(dek, io.BytesIO(blob), out, aad)
    return out.getvalue()


def _chunks(blob: bytes, chunk_size: int) -> tuple[bytes, list[bytes]]:
    sealed = chunk_size + TAG
    body = blob[HEADER:]
    return blob[:HEADER], [body[i : i + sealed] for i in range(0, len(body), sealed)]


# --- data keys and AAD -----------------------------------------------------------------------


def test_new_data_key_is_32_random_bytes():
    keys = {new_data_key() for _ in range(20)}
    assert len(keys) == 20
    assert all(len(k) == 32 for k in keys)


def test_aad_is_length_prefixed_so_boundaries_cannot_shift():
    assert aad_for("ab", "c") != aad_for("a", "bc")
    assert aad_for("case:1", "name") != aad_for("case:1", "name2")


@pytest.mark.parametrize("owner, field", [("", "name"), ("case:1", "")])
def test_aad_refuses_empty_parts(owner, field):
    with pytest.raises(ValueError):
        aad_for(owner, field)


# --- field blobs -----------------------------------------------------------------------------


def test_round_trip():
    dek = new_data_key()
    blob = encrypt(dek, "山田 太郎".encode(), AAD)
    assert decrypt(dek, blob, AAD) == "山田 太郎".encode()


def test_blob_format_is_version_nonce_ciphertext_tag():
    blob = encrypt(new_data_key(), b"abc", AAD)
    assert blob[0] == 1
    assert len(blob) == 1 + 12 + 3 + 16


def test_encryption_is_randomised():
    dek = new_data_key()
    assert encrypt(dek, b"same", AAD) != encrypt(dek, b"same", AAD)


def test_ciphertext_moved_to_another_row_fails_to_decrypt():
    dek = new_data_key()
    blob = encrypt(dek, b"secret", aad_for("case:1", "notes"))
    with pytest.raises(DecryptionError, match="wrong associated data"):
        decrypt(dek, blob, aad_for("case:2", "notes"))


def test_ciphertext_moved_to_another_field_fails_to_decrypt():
    dek = new_data_key()
    blob = encrypt(dek, b"secret", aad_for("case:1", "notes"))
    with pytest.raises(DecryptionError):
        decrypt(dek, blob, aad_for("case:1", "address"))


def test_wrong_key_refused():
    blob = encrypt(new_data_key(), b"secret", AAD)
    with pytest.raises(DecryptionError):
        decrypt(new_data_key(), blob, AAD)


@pytest.mark.parametrize("index", [1, 5, 13, -1])  # nonce, nonce, ciphertext, tag
def test_tampered_byte_refused(index):
    dek = new_data_key()
    blob = encrypt(dek, b"secret value", AAD)
    with pytest.raises(DecryptionError):
        decrypt(dek, _flip(blob, index % len(blob)), AAD)


def test_unknown_format_version_refused():
    dek = new_data_key()
    blob = encrypt(dek, b"x", AAD)
    with pytest.raises(DecryptionError, match="format version 2"):
        decrypt(dek, b"\x02" + blob[1:], AAD)


def test_truncated_blob_refused():
    dek = new_data_key()
    blob = encrypt(dek, b"x", AAD)
    with pytest.raises(DecryptionError, match="too short"):
        decrypt(dek, blob[:20], AAD)
    with pytest.raises(DecryptionError):
        decrypt(dek, blob[:-1], AAD)


@pytest.mark.parametrize("bad", [b"", b"\x00" * 16, b"\x00" * 24, b"\x00" * 33])
def test_data_key_must_be_32_bytes(bad):
    with pytest.raises(CryptoError, match="32 bytes"):
        encrypt(bad, b"x", AAD)


def test_decryption_error_is_a_crypto_error():
    assert issubclass(DecryptionError, CryptoError)


# --- streams ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 8, 9, 100])
def test_stream_round_trip(size):
    dek = new_data_key()
    plaintext = bytes(range(256)) * (size // 256 + 1)
    plaintext = plaintext[:size]
    blob = _seal_stream(dek, plaintext)
    assert _open_stream(dek, blob) == plaintext


def test_stream_layout_header_and_chunks():
    dek = new_data_key()
    blob = _seal_stream(dek, b"x" * 10, chunk_size=4)  # chunks of 4, 4, 2
    assert blob[0] == 1
    assert struct.unpack(">I", blob[1:5])[0] == 4
    assert len(blob) == HEADER + (4 + TAG) * 2 + (2 + TAG)


def test_stream_exact_multiple_ends_with_full_last_chunk():
    dek = new_data_key()
    blob = _seal_stream(dek, b"x" * 8, chunk_size=4)
    assert len(blob) == HEADER + (4 + TAG) * 2


def test_empty_stream_has_one_authenticated_chunk():
    dek = new_data_key()
    blob = _seal_stream(dek, b"")
    assert len(blob) == HEADER + TAG
    with pytest.raises(DecryptionError, match="truncated"):
        _open_stream(dek, blob[:HEADER])


def test_stream_encrypt_returns_bytes_written_and_decrypt_returns_plaintext_size():
    dek = new_data_key()
    out = io.BytesIO()
    written = encrypt_stream(dek, io.BytesIO(b"y" * 10), out, AAD, chunk_size=4)
    assert written == len(out.getvalue())
    assert decrypt_stream(dek, io.BytesIO(out.getvalue()), io.BytesIO(), AAD) == 10


class _Trickle(io.RawIOBase):
    """A reader returning at most 3 bytes per read, like a pipe or socket may."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._data.read(min(size, 3) if size >= 0 else 3)


def test_stream_chunking_does_not_depend_on_short_reads():
    dek = new_data_key()
    plaintext = bytes(range(50))
    out = io.BytesIO()
    encrypt_stream(dek, _Trickle(plaintext), out, AAD, chunk_size=8)
    assert len(out.getvalue()) == HEADER + 6 * (8 + TAG) + (2 + TAG)
    result = io.BytesIO()
    decrypt_stream(dek, _Trickle(out.getvalue()), result, AAD)
    assert result.getvalue() == plaintext


def test_stream_truncated_at_chunk_boundary_detected():
    dek = new_data_key()
    blob = _seal_stream(dek, b"a" * 12, chunk_size=4)
    header, chunks = _chunks(blob, 4)
    with pytest.raises(DecryptionError, match="chunk 1"):
        _open_stream(dek, header + b"".join(chunks[:2]))


def test_stream_truncated_mid_chunk_detected():
    dek = new_data_key()
    blob = _seal_stream(dek, b"a" * 12, chunk_size=4)
    with pytest.raises(DecryptionError):
        _open_stream(dek, blob[:-5])


def test_stream_reordered_chunks_detected():
    dek = new_data_key()
    blob = _seal_stream(dek, b"aaaabbbbcc", chunk_size=4)
    header, chunks = _chunks(blob, 4)
    with pytest.raises(DecryptionError, match="chunk 0"):
        _open_stream(dek, header + chunks[1] + chunks[0] + chunks[2])


def test_stream_extension_detected():
    dek = new_data_key()
    blob = _seal_stream(dek, b"aaaabbbb", chunk_size=4)
    header, chunks = _chunks(blob, 4)
    with pytest.raises(DecryptionError):
        _open_stream(dek, blob + chunks[0])
    with pytest.raises(DecryptionError):
        _open_stream(dek, blob + b"\x00" * (4 + TAG))


def test_stream_chunk_swapped_in_from_another_stream_detected():
    dek = new_data_key()
    header_a, chunks_a = _chunks(_seal_stream(dek, b"aaaabbbb", chunk_size=4), 4)
    _, chunks_b = _chunks(_seal_stream(dek, b"ccccdddd", chunk_size=4), 4)
    with pytest.raises(DecryptionError):
        _open_stream(dek, header_a + chunks_a[0] + chunks_b[1])


def test_stream_header_tampering_detected():
    dek = new_data_key()
    blob = _seal_stream(dek, b"a" * 20, chunk_size=4)
    for index in range(1, HEADER):  # chunk size and nonce prefix
        with pytest.raises(DecryptionError):
            _open_stream(dek, _flip(blob, index))
    with pytest.raises(DecryptionError, match="format version"):
        _open_stream(dek, _flip(blob, 0))


def test_stream_moved_to_another_document_fails_to_decrypt():
    dek = new_data_key()
    blob = _seal_stream(dek, b"document body", aad=aad_for("document:1", "body"))
    with pytest.raises(DecryptionError):
        _open_stream(dek, blob, aad=aad_for("document:2", "body"))


def test_stream_wrong_key_refused():
    blob = _seal_stream(new_data_key(), b"document body")
    with pytest.raises(DecryptionError):
        _open_stream(new_data_key(), blob)


def test_stream_refuses_bad_chunk_size():
    with pytest.raises(CryptoError):
        _seal_stream(new_data_key(), b"x", chunk_size=0)


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(plaintext=st.binary(max_size=2000), aad=st.binary(max_size=64))
def test_property_field_round_trip(plaintext, aad):
    dek = new_data_key()
    assert decrypt(dek, encrypt(dek, plaintext, aad), aad) == plaintext


@settings(max_examples=150, deadline=None)
@given(plaintext=st.binary(max_size=3000), chunk_size=st.integers(min_value=1, max_value=512))
def test_property_stream_round_trip(plaintext, chunk_size):
    dek = new_data_key()
    blob = _seal_stream(dek, plaintext, chunk_size=chunk_size)
    chunks = max(1, -(-len(plaintext) // chunk_size))
    assert len(blob) == HEADER + len(plaintext) + chunks * TAG
    assert _open_stream(dek, blob) == plaintext


@settings(max_examples=150, deadline=None)
@given(
    plaintext=st.binary(max_size=300),
    chunk_size=st.integers(min_value=1, max_value=64),
    data=st.data(),
)
def test_property_stream_any_flipped_bit_or_truncation_is_detected(plaintext, chunk_size, data):
    dek = new_data_key()
    blob = _seal_stream(dek, plaintext, chunk_size=chunk_size)
    index = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
    bit = data.draw(st.integers(min_value=0, max_value=7))
    tampered = bytearray(blob)
    tampered[index] ^= 1 << bit
    with pytest.raises(DecryptionError):
        _open_stream(dek, bytes(tampered))
    cut = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
    with pytest.raises(DecryptionError):
        _open_stream(dek, blob[:cut])


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_encrypt_writes_header_nonce_and_sealed_text_in_place_for_any_bytes_like_input(kind):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    dek = new_data_key()
    plaintext = bytes(range(256)) * 40
    blob = encrypt(dek, kind(plaintext), AAD)
    # The layout is unchanged: version byte, 12-byte nonce, AES-GCM ciphertext and tag over
    # (version byte || AAD), so blobs written before and after are read alike.
    assert blob[0] == 1 and len(blob) == 1 + 12 + len(plaintext) + 16
    nonce = bytes(blob[1:13])
    assert AESGCM(dek).decrypt(nonce, bytes(blob[13:]), bytes(blob[:1]) + AAD) == plaintext
    assert decrypt(dek, blob, AAD) == plaintext
    assert decrypt(dek, bytes(blob), AAD) == plaintext


def test_encrypt_refuses_text_instead_of_bytes():
    with pytest.raises(TypeError):
        encrypt(new_data_key(), "not bytes", AAD)
