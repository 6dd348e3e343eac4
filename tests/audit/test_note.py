"""Tests for hozen.audit.note: C2SP signed notes (Ed25519) and tlog checkpoints.

Known-answer vectors come from Go's golang.org/x/mod: sumdb/note/note_test.go (the
PeterNeumann and EnochRoot keys and signatures) and sumdb/tlog/note_test.go
(TestFormatTree). The example checkpoint text is from the c2sp.org/tlog-checkpoint spec.
Ed25519 is deterministic, so signing must reproduce Go's bytes exactly.
"""

import base64
import hashlib

import pytest

from hozen.audit.merkle import leaf_hash
from hozen.audit.note import (
    Checkpoint,
    CheckpointError,
    InvalidKeyError,
    InvalidSignatureError,
    MalformedNoteError,
    NoteError,
    Signature,
    Signer,
    UnverifiedNoteError,
    Verifier,
    generate_signer,
    key_hash,
    open_note,
    sign_note,
)

PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_B64 = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
ENOCH_B64 = "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ="
PETER_SIG = f"\u2014 PeterNeumann {PETER_B64}\n"
ENOCH_SIG = f"\u2014 EnochRoot {ENOCH_B64}\n"
PETER = Signature("PeterNeumann", 0xC74F20A3, PETER_B64)
ENOCH = Signature("EnochRoot", 0xAF0CFE78, ENOCH_B64)

C2SP_CHECKPOINT = (
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)
GO_TREE = "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n"


def _flip_last_byte(b64: str) -> str:
    raw = base64.b64decode(b64)
    return base64.b64encode(raw[:-1] + bytes([raw[-1] ^ 1])).decode()


def peter() -> Verifier:
    return Verifier.from_key_text(PETER_VKEY)


def enoch() -> Verifier:
    return Verifier.from_key_text(ENOCH_VKEY)


# --- Keys ---------------------------------------------------------------------------------


def test_key_hash_is_first_four_bytes_of_sha256_of_name_newline_type_and_key() -> None:
    encoded = base64.b64decode(PETER_VKEY.split("+")[2])
    assert encoded[0] == 0x01 and len(encoded) == 33
    digest = hashlib.sha256(b"PeterNeumann\n" + encoded).digest()
    assert key_hash("PeterNeumann", encoded) == int.from_bytes(digest[:4], "big") == 0xC74F20A3


def test_go_key_texts_round_trip_and_signer_derives_matching_verifier() -> None:
    signer = Signer.from_key_text(PETER_SKEY)
    verifier = peter()
    assert (signer.name, signer.key_hash) == ("PeterNeumann", 0xC74F20A3)
    assert (verifier.name, verifier.key_hash) == ("PeterNeumann", 0xC74F20A3)
    assert signer.key_text == PETER_SKEY
    assert verifier.key_text == PETER_VKEY
    assert signer.verifier().key_text == PETER_VKEY


def test_generated_keys_parse_sign_and_verify() -> None:
    skey, vkey = generate_signer("hozen.example/audit")
    assert skey.startswith("PRIVATE+KEY+hozen.example/audit+")
    signer, verifier = Signer.from_key_text(skey), Verifier.from_key_text(vkey)
    assert signer.key_hash == verifier.key_hash
    assert signer.key_text == skey and verifier.key_text == vkey
    message = b"hi"
    signature = signer.sign(message)
    assert verifier.verify(message, signature)
    assert not verifier.verify(b"hj", signature)
    assert not verifier.verify(message, bytes([signature[0] ^ 1]) + signature[1:])


def test_signer_repr_does_not_reveal_the_private_key() -> None:
    signer = Signer.from_key_text(PETER_SKEY)
    assert "AYEKFALV" not in repr(signer) and "PRIVATE" not in repr(signer)


def _manglings(key: str) -> list[str]:
    """Every proper substring and every single-character increment (as in Go's tests)."""
    out = [
        key[i:j] for i in range(len(key) + 1) for j in range(i + 1, len(key) + 1) if (i, j) != (0, len(key))
    ]
    out += [key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :] for i in range(len(key))]
    return out


def test_every_mangled_verifier_key_is_rejected() -> None:
    for bad in _manglings(PETER_VKEY):
        with pytest.raises(InvalidKeyError):
            Verifier.from_key_text(bad)


def test_every_mangled_signer_key_is_rejected() -> None:
    for bad in _manglings(PETER_SKEY):
        with pytest.raises(InvalidKeyError):
            Signer.from_key_text(bad)


@pytest.mark.parametrize(
    "vkey",
    [
        # From Go's TestNewVerifier: wrong key length and unknown algorithm, both with adjusted key hash.
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+0xc74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq_LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n",
    ],
)
def test_verifier_key_with_bad_name_hash_algorithm_or_encoding_is_rejected(vkey: str) -> None:
    with pytest.raises(InvalidKeyError):
        Verifier.from_key_text(vkey)


# --- Signing and opening ------------------------------------------------------------------


def test_signing_reproduces_go_sumdb_note_vector() -> None:
    assert sign_note(TEXT, Signer.from_key_text(PETER_SKEY)) == TEXT + "\n" + PETER_SIG


def test_open_note_returns_text_and_verified_signature() -> None:
    text, sigs = open_note(TEXT + "\n" + PETER_SIG, [peter()])
    assert text == TEXT
    assert sigs == [PETER]


def test_open_note_accepts_utf8_bytes() -> None:
    assert open_note((TEXT + "\n" + PETER_SIG).encode("utf-8"), [peter()]) == (TEXT, [PETER])


def test_open_note_verifies_every_known_signature() -> None:
    _, sigs = open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [peter(), enoch()])
    assert sigs == [PETER, ENOCH]


def test_signatures_from_unknown_keys_are_ignored() -> None:
    _, sigs = open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [peter()])
    assert sigs == [PETER]


def test_unknown_signature_that_would_not_verify_is_still_ignored() -> None:
    bad_enoch = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    _, sigs = open_note(TEXT + "\n" + PETER_SIG + bad_enoch, [peter()])
    assert sigs == [PETER]


def test_note_without_a_known_signature_is_rejected() -> None:
    with pytest.raises(UnverifiedNoteError):
        open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [])


def test_note_signed_by_a_different_key_is_rejected() -> None:
    _, other_vkey = generate_signer("PeterNeumann")  # same name, different key and key ID
    with pytest.raises(UnverifiedNoteError):
        open_note(TEXT + "\n" + PETER_SIG, [Verifier.from_key_text(other_vkey)])


def test_modified_text_fails_signature_check() -> None:
    with pytest.raises(InvalidSignatureError, match=r"PeterNeumann\+c74f20a3"):
        open_note(TEXT.replace("cryptography", "cryptographie") + "\n" + PETER_SIG, [peter()])


@pytest.mark.parametrize(
    "sig_line",
    [
        PETER_SIG[:60] + "ABCD" + PETER_SIG[60:],  # from Go's TestOpen
        PETER_SIG.replace("x08go/ZJ", "x08go/ZK"),  # a signature bit (key ID bytes kept)
        f"\u2014 PeterNeumann {_flip_last_byte(PETER_B64)}\n",  # last signature byte
    ],
)
def test_modified_signature_fails_signature_check(sig_line: str) -> None:
    with pytest.raises(InvalidSignatureError):
        open_note(TEXT + "\n" + sig_line, [peter()])


def test_known_bad_signature_rejects_note_even_if_another_signature_verifies() -> None:
    bad_enoch = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    with pytest.raises(InvalidSignatureError):
        open_note(TEXT + "\n" + PETER_SIG + bad_enoch, [peter(), enoch()])


def test_repeated_signatures_by_one_key_count_once() -> None:
    _, sigs = open_note(TEXT + "\n" + PETER_SIG * 3, [peter()])
    assert sigs == [PETER]


def test_note_text_may_contain_blank_lines_and_ends_at_the_last_one() -> None:
    signer = Signer.from_key_text(PETER_SKEY)
    for text in ["a\n\nb\n", "a\n\n", "\n", "line one\n\n\n\nline five\n"]:
        assert open_note(sign_note(text, signer), [peter()])[0] == text


def test_sign_note_with_several_signers_emits_one_line_each() -> None:
    skey, vkey = generate_signer("second.example")
    note = sign_note(TEXT, Signer.from_key_text(PETER_SKEY), Signer.from_key_text(skey))
    assert note.startswith(TEXT + "\n" + PETER_SIG)
    _, sigs = open_note(note, [peter(), Verifier.from_key_text(vkey)])
    assert [s.name for s in sigs] == ["PeterNeumann", "second.example"]


def test_non_ascii_text_round_trips() -> None:
    text = "保全 監査ログ\nOgnuno sta solo sul cuor della terra\n"
    note = sign_note(text, Signer.from_key_text(PETER_SKEY))
    assert open_note(note.encode("utf-8"), [peter()])[0] == text


@pytest.mark.parametrize(
    "note",
    [
        # Go's TestOpen badMsgs:
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        b"\xff" + (TEXT + "\n" + PETER_SIG).encode(),
        TEXT + "\n" + f"\u2014 Bad Name {PETER_B64}",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        # More syntax rules from c2sp.org/signed-note:
        TEXT + "\n" + f"- PeterNeumann {PETER_B64}\n",  # hyphen, not em dash
        TEXT + "\n" + f"\u2014PeterNeumann {PETER_B64}\n",  # no space after the dash
        TEXT + "\n" + "\u2014 PeterNeumann\n",  # no signature
        TEXT + "\n" + f"\u2014 PeterNeumann  {PETER_B64}\n",  # two spaces
        TEXT + "\n" + f"\u2014 Peter+Neumann {PETER_B64}\n",  # plus in name
        TEXT + "\n" + f"\u2014 PeterNeumann {PETER_B64.rstrip('=')}\n",  # unpadded base64
        TEXT + "\n" + f"\u2014 PeterNeumann {PETER_B64.replace('/', '_')}\n",  # URL alphabet
        TEXT + "\n" + "\u2014 PeterNeumann x08gow==\n",  # shorter than key ID + 1 byte
        TEXT + "\n" + PETER_SIG.replace("\n", "\r\n"),  # control character
        TEXT.replace("\n", "\r\n") + "\r\n" + PETER_SIG,
        TEXT + "\n" + PETER_SIG * 101,  # too many signatures
        "\ud800" + TEXT + "\n" + PETER_SIG,  # lone surrogate: not encodable as UTF-8
    ],
)
def test_malformed_notes_are_rejected(note: str | bytes) -> None:
    with pytest.raises(MalformedNoteError):
        open_note(note, [peter()])


@pytest.mark.parametrize("text", ["no final newline", "", "tab\tinside\n", "bell\x07\n", "\ud800\n"])
def test_sign_note_rejects_text_a_note_cannot_carry(text: str) -> None:
    with pytest.raises(MalformedNoteError):
        sign_note(text, Signer.from_key_text(PETER_SKEY))


def test_two_different_verifier_keys_with_same_name_and_id_are_refused() -> None:
    class Impostor(Verifier):
        @property
        def key_text(self) -> str:
            return "different"

    impostor = Impostor.__new__(Impostor)
    for slot, value in (("name", "PeterNeumann"), ("key_hash", 0xC74F20A3), ("_public_key", None)):
        object.__setattr__(impostor, slot, value)
    with pytest.raises(InvalidKeyError, match="two different verifier keys"):
        open_note(TEXT + "\n" + PETER_SIG, [peter(), impostor])


def test_all_note_errors_share_a_base_class() -> None:
    for error in (
        MalformedNoteError,
        InvalidKeyError,
        InvalidSignatureError,
        UnverifiedNoteError,
        CheckpointError,
    ):
        assert issubclass(error, NoteError)


# --- Checkpoints --------------------------------------------------------------------------


def test_checkpoint_format_matches_go_tlog_vector() -> None:
    checkpoint = Checkpoint("go.sum database tree", 123456789012, leaf_hash(b"hello world"))
    assert checkpoint.format() == GO_TREE


def test_checkpoint_parse_reads_go_tlog_vector() -> None:
    assert Checkpoint.parse(GO_TREE) == Checkpoint(
        "go.sum database tree", 123456789012, leaf_hash(b"hello world")
    )


def test_c2sp_example_checkpoint_parses_but_does_not_verify_without_its_key() -> None:
    body = C2SP_CHECKPOINT.split("\n\n")[0] + "\n"
    checkpoint = Checkpoint.parse(body)
    assert (checkpoint.origin, checkpoint.size, checkpoint.extensions) == (
        "example.com/behind-the-sofa",
        20852163,
        (),
    )
    assert len(checkpoint.root_hash) == 32
    with pytest.raises(UnverifiedNoteError):
        open_note(C2SP_CHECKPOINT, [peter()])


@pytest.mark.parametrize(
    "checkpoint",
    [
        Checkpoint("hozen.example/audit", 0, hashlib.sha256(b"").digest()),
        Checkpoint("hozen.example/audit", 1, bytes(32)),
        Checkpoint("hozen.example/audit", 2**63 - 1, bytes(range(32)), ("ext one", "ext two")),
        Checkpoint("origin with spaces+plus", 7, b"\xff" * 32),
    ],
)
def test_checkpoint_format_parse_round_trip(checkpoint: Checkpoint) -> None:
    assert Checkpoint.parse(checkpoint.format()) == checkpoint


def test_signed_checkpoint_is_verified_then_parsed() -> None:
    skey, vkey = generate_signer("hozen.example/audit")
    checkpoint = Checkpoint("hozen.example/audit", 42, leaf_hash(b"root"))
    note = sign_note(checkpoint.format(), Signer.from_key_text(skey))
    text, sigs = open_note(note, [Verifier.from_key_text(vkey)])
    assert [s.name for s in sigs] == ["hozen.example/audit"]
    assert Checkpoint.parse(text) == checkpoint


ROOT_B64 = "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0="


@pytest.mark.parametrize(
    "text",
    [
        "go.sum database tree\n0xabcdef\n" + ROOT_B64 + "\n",  # from Go's TestParseTree
        "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n",  # ditto
        GO_TREE + "JOE",  # Go ignores trailing junk; we require newline-terminated lines
        GO_TREE[:-1],  # no final newline
        "origin\n1\n",  # missing root line
        "\n1\n" + ROOT_B64 + "\n",  # empty origin
        "origin\n\n" + ROOT_B64 + "\n",  # empty size
        "origin\n007\n" + ROOT_B64 + "\n",  # leading zeros
        "origin\n-1\n" + ROOT_B64 + "\n",
        "origin\n+1\n" + ROOT_B64 + "\n",
        "origin\n 1\n" + ROOT_B64 + "\n",
        "origin\n1_000\n" + ROOT_B64 + "\n",
        "origin\n\uff11\n" + ROOT_B64 + "\n",  # fullwidth digit one
        "origin\n9223372036854775808\n" + ROOT_B64 + "\n",  # 2**63
        "origin\n" + "9" * 5000 + "\n" + ROOT_B64 + "\n",
        "origin\n1\n" + ROOT_B64.rstrip("=") + "\n",  # unpadded
        "origin\n1\n" + ROOT_B64.replace("+", "-") + "\n",  # URL alphabet
        "origin\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb1=\n",  # non-canonical trailing bits
        "origin\n1\n" + base64.b64encode(bytes(31)).decode() + "\n",  # 31-byte root
        "origin\n1\n" + ROOT_B64 + "\n\n",  # empty extension line
        "origin\n1\n" + ROOT_B64 + "\next\n\n",
        "origin\r\n1\r\n" + ROOT_B64 + "\r\n",  # CRLF
        "ori\x00gin\n1\n" + ROOT_B64 + "\n",  # control character
    ],
)
def test_malformed_checkpoints_are_rejected(text: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.parse(text)


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        ("", 1, bytes(32), ()),
        ("two\nlines", 1, bytes(32), ()),
        ("origin", -1, bytes(32), ()),
        ("origin", 2**63, bytes(32), ()),
        ("origin", True, bytes(32), ()),
        ("origin", 1, bytes(31), ()),
        ("origin", 1, "0" * 32, ()),
        ("origin", 1, bytes(32), ("",)),
        ("origin", 1, bytes(32), ("a\nb",)),
    ],
)
def test_checkpoint_constructor_rejects_unformattable_values(origin, size, root, extensions) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint(origin, size, root, extensions)
