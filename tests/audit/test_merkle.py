"""Tests for hozen.audit.merkle: RFC 9162 §2.1 trees, tlog-style storage, proofs.

Known-answer vectors are copied from transparency-dev/merkle, proof/verify_test.go
(the RFC 6962 / certificate-transparency reference vectors: `leaves`, `roots`,
`inclusionProofs`, `consistencyProofs`). That file numbers leaves from 1 in its
inclusion vectors (it calls VerifyInclusion with `p.leaf-1`); below they are 0-based.
"""

import functools
import hashlib
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hozen.audit import merkle
from hozen.audit.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    StreamingRoot,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaves,
    split_stored_hash_index,
    stored_hash_count,
    stored_hash_index,
    stored_hashes_for_record_hash,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)


def h(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text)


# --- Published vectors (transparency-dev/merkle proof/verify_test.go) -----------------

LEAVES = [
    h(""),
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]

# ROOTS[n - 1] is MTH of the first n leaves.
ROOTS = [
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

# (0-based leaf index, tree size, proof)
INCLUSION_VECTORS = [
    (0, 1, []),
    (
        0,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
]

# (first size, second size, proof)
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]

SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


# --- Independent reference written from the RFC 9162 definitions ----------------------
#
# The library verifies with the iterative bit-twiddling algorithms of RFC 9162 §2.1.3.2
# and §2.1.4.2. To be genuinely independent, the verifier here instead *inverts the
# recursive definitions* of PATH (§2.1.3.1) and SUBPROOF (§2.1.4.1): it walks the same
# left/right split k the definitions use, consuming proof elements from the end.


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _ref_node(left: bytes, right: bytes) -> bytes:
    return _sha(b"\x01" + left + right)


def _ref_k(n: int) -> int:
    """Largest power of two strictly less than n (RFC 9162 §2.1.1), by plain iteration."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(leaf_hashes: Sequence[bytes]) -> bytes:
    if not leaf_hashes:
        return _sha(b"")
    if len(leaf_hashes) == 1:
        return leaf_hashes[0]
    k = _ref_k(len(leaf_hashes))
    return _ref_node(ref_mth(leaf_hashes[:k]), ref_mth(leaf_hashes[k:]))


def ref_path(m: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) exactly as defined in RFC 9162 §2.1.3.1."""
    n = len(leaf_hashes)
    if n == 1:
        return []
    k = _ref_k(n)
    if m < k:
        return ref_path(m, leaf_hashes[:k]) + [ref_mth(leaf_hashes[k:])]
    return ref_path(m - k, leaf_hashes[k:]) + [ref_mth(leaf_hashes[:k])]


def ref_proof(m: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true) exactly as defined in RFC 9162 §2.1.4.1."""

    def subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
        n = len(d)
        if m == n:
            return [] if b else [ref_mth(d)]
        k = _ref_k(n)
        if m <= k:
            return subproof(m, d[:k], b) + [ref_mth(d[k:])]
        return subproof(m - k, d[k:], False) + [ref_mth(d[:k])]

    return subproof(m, leaf_hashes, True)


def independent_verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    def rebuild(lo: int, hi: int, path: Sequence[bytes]) -> bytes | None:
        if hi - lo == 1:
            return leaf if not path else None  # no unused elements allowed
        if not path:
            return None
        k = _ref_k(hi - lo)
        if index < lo + k:  # PATH(m, D[0:k]) : MTH(D[k:n])
            sub = rebuild(lo, lo + k, path[:-1])
            return None if sub is None else _ref_node(sub, path[-1])
        sub = rebuild(lo + k, hi, path[:-1])  # PATH(m - k, D[k:n]) : MTH(D[0:k])
        return None if sub is None else _ref_node(path[-1], sub)

    if not 0 <= index < size or any(len(p) != 32 for p in proof):
        return False
    return rebuild(0, size, list(proof)) == root


def independent_verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    def rebuild(lo: int, hi: int, path: Sequence[bytes]) -> tuple[bytes, bytes] | None:
        """Returns (hash of old tree's part of [lo, hi), hash of [lo, hi))."""
        if first == hi:
            if lo == 0:  # SUBPROOF(m, D[m], true) = {}
                return (first_root, first_root) if not path else None
            return (path[0], path[0]) if len(path) == 1 else None  # {MTH(D[m])}
        if not path:
            return None
        k = _ref_k(hi - lo)
        if first <= lo + k:
            sub = rebuild(lo, lo + k, path[:-1])
            return None if sub is None else (sub[0], _ref_node(sub[1], path[-1]))
        sub = rebuild(lo + k, hi, path[:-1])
        return None if sub is None else (_ref_node(path[-1], sub[0]), _ref_node(path[-1], sub[1]))

    if not 0 < first < second or any(len(p) != 32 for p in proof):
        return False
    return rebuild(0, second, list(proof)) == (first_root, second_root)


# --- A shared tree of distinct entries for the property tests --------------------------

BIG = 4096


@functools.cache
def big_tree() -> tuple[MemoryTree, list[bytes], list[bytes]]:
    """A MemoryTree of BIG leaves, its leaf hashes, and roots[n] for every n (via StreamingRoot)."""
    tree = MemoryTree()
    leaves = [leaf_hash(b"hozen audit entry %d" % i) for i in range(BIG)]
    stream = StreamingRoot()
    roots = [stream.root()]
    for lh in leaves:
        tree.append(lh)
        stream.push(lh)
        roots.append(stream.root())
    return tree, leaves, roots


def vector_tree() -> MemoryTree:
    tree = MemoryTree()
    for entry in LEAVES:
        tree.append_entry(entry)
    return tree


class CountingReader:
    """Wraps a HashReader to count calls and hashes read (to check O(log n) costs)."""

    def __init__(self, tree: MemoryTree) -> None:
        self.tree = tree
        self.calls = 0
        self.reads = 0

    def __call__(self, indexes: Sequence[int]) -> list[bytes]:
        self.calls += 1
        self.reads += len(indexes)
        return self.tree.read_hashes(indexes)


# --- Hash primitives --------------------------------------------------------------------


def test_leaf_hash_is_sha256_of_zero_byte_then_entry() -> None:
    assert leaf_hash(b"") == ROOTS[0]
    assert leaf_hash(b"abc") == _sha(b"\x00abc")


def test_node_hash_is_sha256_of_one_byte_then_children() -> None:
    assert node_hash(b"L" * 32, b"R" * 32) == _sha(b"\x01" + b"L" * 32 + b"R" * 32)
    assert node_hash(leaf_hash(LEAVES[0]), leaf_hash(LEAVES[1])) == ROOTS[1]


def test_empty_tree_root_is_sha256_of_empty_string() -> None:
    assert EMPTY_ROOT == h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert root_from_leaves([]) == EMPTY_ROOT
    assert StreamingRoot().root() == EMPTY_ROOT
    assert MemoryTree().root() == EMPTY_ROOT


# --- Known answers ----------------------------------------------------------------------


@pytest.mark.parametrize("size", range(1, 9))
def test_every_root_construction_matches_published_root(size: int) -> None:
    leaf_hashes = [leaf_hash(e) for e in LEAVES[:size]]
    tree = vector_tree()
    stream = StreamingRoot()
    stream.extend(leaf_hashes)
    assert root_from_leaves(leaf_hashes) == ROOTS[size - 1]
    assert ref_mth(leaf_hashes) == ROOTS[size - 1]
    assert tree.root(size) == ROOTS[size - 1]
    assert tree_hash(size, tree.read_hashes) == ROOTS[size - 1]
    assert stream.root() == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "expected"), INCLUSION_VECTORS)
def test_inclusion_proof_matches_published_vector(index: int, size: int, expected: list[bytes]) -> None:
    tree = vector_tree()
    proof = tree.inclusion_proof(index, size)
    assert proof == expected
    leaf = leaf_hash(LEAVES[index])
    assert verify_inclusion(leaf, index, size, proof, ROOTS[size - 1])
    assert independent_verify_inclusion(leaf, index, size, proof, ROOTS[size - 1])


@pytest.mark.parametrize(("first", "second", "expected"), CONSISTENCY_VECTORS)
def test_consistency_proof_matches_published_vector(first: int, second: int, expected: list[bytes]) -> None:
    tree = vector_tree()
    proof = tree.consistency_proof(first, second)
    assert proof == expected
    assert verify_consistency(first, second, ROOTS[first - 1], ROOTS[second - 1], proof)
    if first < second:
        assert independent_verify_consistency(first, second, ROOTS[first - 1], ROOTS[second - 1], proof)


def _flip(data: bytes, mask: int) -> bytes:
    return bytes([data[0] ^ mask]) + data[1:]


@pytest.mark.parametrize(("index", "size", "proof"), [v for v in INCLUSION_VECTORS if v[1] > 1])
def test_published_inclusion_vectors_fail_when_corrupted(index: int, size: int, proof: list[bytes]) -> None:
    # Same probes as transparency-dev/merkle corruptInclusionProof.
    root, leaf = ROOTS[size - 1], leaf_hash(LEAVES[index])
    probes = [
        (index - 1, size, root, leaf, proof),
        (index + 1, size, root, leaf, proof),
        (index ^ 2, size, root, leaf, proof),
        (index, size * 2, root, leaf, proof),
        (index, size // 2, root, leaf, proof),
        (index, size, root, b"WrongLeaf", proof),
        (index, size, EMPTY_ROOT, leaf, proof),
        (index, size, SOME_HASH, leaf, proof),
        (index, size, root, leaf, [*proof, b""]),
        (index, size, root, leaf, [*proof, root]),
        (index, size, root, leaf, [b"", *proof]),
        (index, size, root, leaf, [root, *proof]),
        (index, size, root, leaf, proof[:-1]),
    ]
    probes += [
        (index, size, root, leaf, [*proof[:i], _flip(proof[i], 8), *proof[i + 1 :]])
        for i in range(len(proof))
    ]
    if len(proof) > 1:
        probes.append((index, size, root, leaf, [proof[0], SOME_HASH, *proof[1:]]))
    for i, n, r, lf, p in probes:
        assert not verify_inclusion(lf, i, n, p, r), (i, n)
        assert not independent_verify_inclusion(lf, i, n, p, r), (i, n)


@pytest.mark.parametrize(("first", "second", "proof"), [v for v in CONSISTENCY_VECTORS if v[2]])
def test_published_consistency_vectors_fail_when_corrupted(
    first: int, second: int, proof: list[bytes]
) -> None:
    # Same probes as transparency-dev/merkle corruptConsistencyProof.
    r1, r2 = ROOTS[first - 1], ROOTS[second - 1]
    probes = [
        (first - 1, second, r1, r2, proof),
        (first + 1, second, r1, r2, proof),
        (first ^ 2, second, r1, r2, proof),
        (first, second * 2, r1, r2, proof),
        (first, second // 2, r1, r2, proof),
        (first, second, b"WrongRoot", r2, proof),
        (first, second, r1, b"WrongRoot", proof),
        (first, second, r2, r1, proof),
        (first, second, r1, r2, []),
        (first, second, r1, r2, [*proof, b""]),
        (first, second, r1, r2, [*proof, r1]),
        (first, second, r1, r2, [*proof, r2]),
        (first, second, r1, r2, [b"", *proof]),
        (first, second, r1, r2, [r1, *proof]),
        (first, second, r1, r2, [r2, *proof]),
        (first, second, r1, r2, [proof[0], *proof]),
        (first, second, r1, r2, proof[:-1]),
    ]
    probes += [
        (first, second, r1, r2, [*proof[:i], _flip(proof[i], 16), *proof[i + 1 :]]) for i in range(len(proof))
    ]
    for f, s, a, b, p in probes:
        assert not verify_consistency(f, s, a, b, p), (f, s)
        assert not independent_verify_consistency(f, s, a, b, p), (f, s)


# --- Storage layout ---------------------------------------------------------------------


def test_stored_hash_index_follows_go_tlog_append_order() -> None:
    # Order in which hashes become known: leaf0, leaf1, node(1,0), leaf2, leaf3, node(1,1), node(2,0), leaf4.
    layout = [(0, 0), (0, 1), (1, 0), (0, 2), (0, 3), (1, 1), (2, 0), (0, 4)]
    assert [stored_hash_index(level, n) for level, n in layout] == list(range(len(layout)))


def test_split_stored_hash_index_inverts_stored_hash_index() -> None:
    for index in range(5000):
        level, n = split_stored_hash_index(index)
        assert stored_hash_index(level, n) == index


def test_appending_writes_hashes_exactly_at_their_stored_index() -> None:
    tree = MemoryTree()
    for n in range(300):
        start = len(tree.hashes)
        assert start == stored_hash_index(0, n)
        tree.append_entry(b"e%d" % n)
        assert len(tree.hashes) == stored_hash_count(n + 1)
        for offset, stored in enumerate(tree.hashes[start:]):
            level, node = split_stored_hash_index(start + offset)
            width = 1 << level
            leaves = [leaf_hash(b"e%d" % i) for i in range(node * width, (node + 1) * width)]
            assert stored == ref_mth(leaves)


# --- O(log n) costs -----------------------------------------------------------------------


def test_appending_leaf_n_reads_at_most_log2_n_hashes_in_one_call() -> None:
    tree = MemoryTree()
    for n in range(2050):
        reader = CountingReader(tree)
        new = stored_hashes_for_record_hash(n, leaf_hash(b"%d" % n), reader)
        assert reader.calls <= 1
        assert reader.reads == len(new) - 1 <= max(n, 1).bit_length()
        tree.hashes.extend(new)
        tree.size += 1


@pytest.mark.parametrize("size", [1, 2, 3, 1000, 1023, 1024, 1025, 4095, 4096])
def test_tree_hash_reads_one_hash_per_complete_subtree(size: int) -> None:
    tree, _, roots = big_tree()
    reader = CountingReader(tree)
    assert tree_hash(size, reader) == roots[size]
    assert reader.calls == 1
    assert reader.reads == size.bit_count() <= size.bit_length()


@pytest.mark.parametrize("size", [2, 3, 1000, 1023, 1024, 1025, 3001, 4095, 4096])
def test_proofs_read_at_most_two_log2_n_hashes_in_one_call(size: int) -> None:
    tree, _, _ = big_tree()
    budget = 2 * size.bit_length()
    for index in {0, 1, size // 3, size // 2, size - 2, size - 1}:
        reader = CountingReader(tree)
        inclusion_proof(index, size, reader)
        assert reader.calls == 1 and reader.reads <= budget
    for first in {1, 2, size // 3, size // 2, size - 1} & set(range(1, size)):
        reader = CountingReader(tree)
        consistency_proof(first, size, reader)
        assert reader.calls == 1 and reader.reads <= budget


# --- Exhaustive small trees and property tests -----------------------------------------


def test_every_proof_of_every_tree_up_to_64_leaves_equals_the_rfc_definition() -> None:
    tree, leaves, roots = big_tree()
    for size in range(1, 65):
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            assert proof == ref_path(index, leaves[:size])
            assert verify_inclusion(leaves[index], index, size, proof, roots[size])
        for first in range(1, size + 1):
            proof = tree.consistency_proof(first, size)
            assert proof == ref_proof(first, leaves[:size])
            assert verify_consistency(first, size, roots[first], roots[size], proof)


def test_stored_tree_hash_equals_streaming_and_recursive_roots_for_every_size() -> None:
    tree, leaves, roots = big_tree()
    for size in range(BIG + 1):
        assert tree.root(size) == roots[size]
    for size in (0, 1, 5, 257, 1000, BIG):
        assert root_from_leaves(leaves[:size]) == roots[size]


@settings(max_examples=12, deadline=None)
@given(size=st.integers(min_value=1, max_value=3000))
def test_inclusion_proof_verifies_for_every_leaf(size: int) -> None:
    tree, leaves, roots = big_tree()
    for index in range(size):
        proof = tree.inclusion_proof(index, size)
        assert independent_verify_inclusion(leaves[index], index, size, proof, roots[size])
        assert verify_inclusion(leaves[index], index, size, proof, roots[size])


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_consistency_proof_verifies_for_random_size_pairs(data: st.DataObject) -> None:
    tree, _, roots = big_tree()
    second = data.draw(st.integers(min_value=1, max_value=BIG), label="second")
    first = data.draw(st.integers(min_value=0, max_value=second), label="first")
    proof = tree.consistency_proof(first, second)
    assert verify_consistency(first, second, roots[first], roots[second], proof)
    if 0 < first < second:
        assert independent_verify_consistency(first, second, roots[first], roots[second], proof)
    else:
        assert proof == []


@settings(max_examples=40, deadline=None)
@given(size=st.integers(min_value=1, max_value=600), data=st.data())
def test_storage_proofs_equal_rfc_definition_proofs(size: int, data: st.DataObject) -> None:
    tree, leaves, _ = big_tree()
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    first = data.draw(st.integers(min_value=1, max_value=size), label="first")
    assert tree.inclusion_proof(index, size) == ref_path(index, leaves[:size])
    assert tree.consistency_proof(first, size) == ref_proof(first, leaves[:size])


def _tamper(proof: list[bytes], how: str, where: int, extra: bytes) -> list[bytes]:
    i = where % len(proof) if proof else 0
    if how == "flip":
        return [*proof[:i], _flip(proof[i], 1 << (where % 8)), *proof[i + 1 :]]
    if how == "drop":
        return proof[:i] + proof[i + 1 :]
    if how == "append":
        return [*proof, extra]
    if how == "prepend":
        return [extra, *proof]
    if how == "insert":
        return [*proof[:i], extra, *proof[i:]]
    raise AssertionError(how)


TAMPERS = ["flip", "drop", "append", "prepend", "insert"]


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(min_value=2, max_value=BIG),
    data=st.data(),
    how=st.sampled_from([*TAMPERS, "index", "leaf", "root"]),
    where=st.integers(min_value=0, max_value=1000),
)
def test_tampered_inclusion_proof_fails(size: int, data: st.DataObject, how: str, where: int) -> None:
    # (A different tree *size* is deliberately not a tamper here: the root alone does not
    # bind the size, e.g. leaf 0's proof in a 3-leaf tree also "verifies" as size 4. That
    # is why checkpoints sign size and root together.)
    tree, leaves, roots = big_tree()
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    proof = tree.inclusion_proof(index, size)
    leaf, root = leaves[index], roots[size]
    if how == "index":
        index = (index + 1 + where % (size - 1)) % size  # any other leaf position
    elif how == "leaf":
        leaf = leaves[(index + 1) % size]
    elif how == "root":
        root = roots[size - 1]
    else:
        proof = _tamper(proof, how, where, SOME_HASH)
    assert not verify_inclusion(leaf, index, size, proof, root)
    assert not independent_verify_inclusion(leaf, index, size, proof, root)


@settings(max_examples=300, deadline=None)
@given(
    second=st.integers(min_value=2, max_value=BIG),
    data=st.data(),
    how=st.sampled_from([*TAMPERS, "first_root", "second_root", "swap"]),
    where=st.integers(min_value=0, max_value=1000),
)
def test_tampered_consistency_proof_fails(second: int, data: st.DataObject, how: str, where: int) -> None:
    tree, _, roots = big_tree()
    first = data.draw(st.integers(min_value=1, max_value=second - 1), label="first")
    proof = tree.consistency_proof(first, second)
    r1, r2 = roots[first], roots[second]
    if how == "first_root":
        r1 = roots[first - 1] if first > 1 else SOME_HASH
    elif how == "second_root":
        r2 = roots[second - 1]
    elif how == "swap":
        r1, r2 = r2, r1
    else:
        proof = _tamper(proof, how, where, SOME_HASH)
    assert not verify_consistency(first, second, r1, r2, proof)
    assert not independent_verify_consistency(first, second, r1, r2, proof)


@settings(max_examples=100, deadline=None)
@given(leaves=st.lists(st.binary(max_size=8), max_size=200), cut=st.integers(min_value=0, max_value=200))
def test_streaming_root_equals_recursive_root_at_every_prefix_checked(leaves: list[bytes], cut: int) -> None:
    hashes = [leaf_hash(e) for e in leaves]
    stream = StreamingRoot()
    stream.extend(hashes[:cut])
    assert stream.root() == root_from_leaves(hashes[:cut])
    for lh in hashes[cut:]:
        stream.push(lh)
    assert stream.size == len(hashes)
    assert stream.root() == root_from_leaves(hashes) == ref_mth(hashes)


# --- Edge cases and errors --------------------------------------------------------------


def test_trivial_consistency_needs_empty_proof_and_matching_roots() -> None:
    r = ROOTS[3]
    assert verify_consistency(4, 4, r, r, [])
    assert not verify_consistency(4, 4, r, ROOTS[2], [])
    assert not verify_consistency(4, 4, r, r, [EMPTY_ROOT])
    assert verify_consistency(0, 4, EMPTY_ROOT, r, [])
    assert not verify_consistency(0, 4, SOME_HASH, r, [])
    assert not verify_consistency(0, 4, EMPTY_ROOT, r, [EMPTY_ROOT])
    assert not verify_consistency(1, 2, ROOTS[0], ROOTS[1], [])  # RFC step 1
    assert consistency_proof(0, 5, vector_tree().read_hashes) == []
    assert vector_tree().consistency_proof(5, 5) == []


def test_verifiers_return_false_instead_of_raising_on_bad_input() -> None:
    leaf, root = leaf_hash(LEAVES[0]), ROOTS[0]
    assert verify_inclusion(leaf, 0, 1, [], root)
    assert not verify_inclusion(leaf, 1, 1, [], root)  # index >= size
    assert not verify_inclusion(leaf, -1, 1, [], root)
    assert not verify_inclusion(leaf, 0, 0, [], root)
    assert not verify_inclusion(leaf, True, 2, [], root)  # bool is not an index
    assert not verify_inclusion(leaf[:31], 0, 1, [], root[:31])
    assert not verify_inclusion(b"", 0, 1, [], b"")
    assert not verify_consistency(2, 1, ROOTS[1], ROOTS[0], [ROOTS[0]])  # time travel
    assert not verify_consistency(-1, 1, EMPTY_ROOT, ROOTS[0], [])
    assert not verify_consistency(1, 2, ROOTS[0], ROOTS[1], [b"short"])


@pytest.mark.parametrize(
    "call",
    [
        lambda r: inclusion_proof(8, 8, r),
        lambda r: inclusion_proof(0, 0, r),
        lambda r: inclusion_proof(-1, 4, r),
        lambda r: consistency_proof(5, 4, r),
        lambda r: consistency_proof(-1, 4, r),
        lambda r: tree_hash(-1, r),
        lambda r: stored_hash_index(-1, 0),
        lambda r: stored_hash_index(0, -1),
        lambda r: split_stored_hash_index(-1),
        lambda r: stored_hash_count(-1),
        lambda r: stored_hashes_for_record_hash(-1, EMPTY_ROOT, r),
        lambda r: stored_hashes_for_record_hash(0, b"short", r),
    ],
)
def test_out_of_range_arguments_raise_value_error(call) -> None:
    with pytest.raises(ValueError):
        call(vector_tree().read_hashes)


def test_memory_tree_refuses_sizes_beyond_what_is_stored() -> None:
    tree = vector_tree()
    with pytest.raises(ValueError, match="exceeds stored size"):
        tree.root(9)
    with pytest.raises(ValueError, match="exceeds stored size"):
        tree.inclusion_proof(0, 9)
    with pytest.raises(ValueError, match="exceeds stored size"):
        tree.consistency_proof(1, 9)


def test_hash_reader_answers_are_checked() -> None:
    with pytest.raises(ValueError, match="returned 0 hashes for 1 indexes"):
        tree_hash(1, lambda indexes: [])
    with pytest.raises(ValueError, match="32 bytes"):
        tree_hash(1, lambda indexes: [b"short"])


def test_streaming_root_rejects_non_hash_leaves() -> None:
    with pytest.raises(ValueError):
        StreamingRoot().push(b"not a hash")
    with pytest.raises(ValueError):
        StreamingRoot().extend(["x" * 32])  # type: ignore[list-item]


def test_module_exports_only_existing_names() -> None:
    assert all(hasattr(merkle, name) for name in merkle.__all__)


@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=6))
@settings(max_examples=40, deadline=None)
def test_extend_stored_yields_exactly_the_hashes_tlog_storage_holds(chunks: list[int]) -> None:
    """Checking a stored tree in one pass relies on this: same hashes, same order, any chunking."""
    memory = MemoryTree()
    stream = StreamingRoot()
    produced: list[bytes] = []
    n = 0
    for size in chunks:
        leaves = [leaf_hash(f"entry {n + i}".encode()) for i in range(size)]
        for h in leaves:
            memory.append(h)
        produced.extend(stream.extend_stored(leaves))
        n += size
        assert stream.root() == memory.root()
    assert produced == memory.hashes
    assert len(produced) == stored_hash_count(n)


def test_extend_stored_rejects_non_hash_leaves() -> None:
    with pytest.raises(ValueError):
        StreamingRoot().extend_stored([b"short"])
