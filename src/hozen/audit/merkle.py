"""RFC 9162 Merkle tree hashing and proofs for the audit log (pure: no Django, no I/O).

The audit log is an append-only Merkle tree exactly as defined by RFC 9162 §2.1
(Certificate Transparency v2), so that anyone holding a signed checkpoint can check
inclusion and consistency proofs with off-the-shelf CT / tlog tooling.

Storage follows Go's ``golang.org/x/mod/sumdb/tlog``: every *completed* subtree hash is
written once, at a dense linear index (``stored_hash_index``), when its last leaf is
appended. From those hashes any tree root, inclusion proof or consistency proof for any
past tree size can be rebuilt with O(log N) reads and no rehashing of leaves. Storage is
abstracted by a ``HashReader``: a callable mapping a list of storage indexes to the list
of 32-byte hashes stored there (a Django model, a file, or ``MemoryTree`` in tests).

Mapping to Go tlog: ``stored_hash_index`` = StoredHashIndex, ``stored_hashes`` =
StoredHashes, ``tree_hash`` = TreeHash, ``inclusion_proof`` = ProveRecord,
``consistency_proof`` = ProveTree, ``verify_inclusion`` / ``verify_consistency`` =
CheckRecord / CheckTree (but implemented with the RFC 9162 §2.1.3.2 / §2.1.4.2
algorithms and returning ``bool``). Proofs use RFC 9162 ordering (bottom-up), which is
also what CT and Go tlog emit.

Conventions: generators (``stored_*``, ``tree_hash``, ``*_proof``) raise ``ValueError``
on out-of-range arguments because that is a caller bug; verifiers never raise on
untrusted input and simply return ``False``, because a proof from the network is data.
"""

import hashlib
from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "HashReader",
    "MemoryTree",
    "StreamingRoot",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_from_leaves",
    "split_stored_hash_index",
    "stored_hash_count",
    "stored_hash_index",
    "stored_hashes",
    "stored_hashes_for_record_hash",
    "tree_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32

#: MTH({}) = SHA-256() per RFC 9162 §2.1.1 (Go tlog uses all zeros instead; we follow the RFC).
EMPTY_ROOT = hashlib.sha256(b"").digest()

#: Reads stored hashes: given storage indexes, returns the hashes at those indexes, same order.
HashReader = Callable[[Sequence[int]], Sequence[bytes]]

_sha256 = hashlib.sha256


def leaf_hash(entry_bytes: bytes) -> bytes:
    """SHA-256(0x00 || entry): the 0x00 prefix domain-separates leaves from nodes (RFC 9162 §2.1.1)."""
    return _sha256(b"\x00" + entry_bytes).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): interior node hash (RFC 9162 §2.1.1)."""
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (n >= 2): the RFC's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ValueError(f"{what} must be {HASH_SIZE} bytes")


def _check_size(value: int, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{what} must be a non-negative int, got {value!r}")


# --- Storage layout -------------------------------------------------------------------


def stored_hash_index(level: int, n: int) -> int:
    """Storage index of the ``n``-th hash at tree ``level`` (level 0 = leaves).

    Hashes are laid out in the order they become known while appending (Crosby and
    Wallach, "Efficient Data Structures for Tamper-Evident Logging", §3.3), so appending
    is a pure append to storage. Level L's n-th hash is stored right after level L+1's
    2n+1-th hash; level 0's n-th hash is at n + n/2 + n/4 + ... = 2n - popcount(n).
    """
    _check_size(level, "level")
    _check_size(n, "n")
    leaf = ((n + 1) << level) - 1  # the last leaf under this node
    return 2 * leaf - leaf.bit_count() + level


def split_stored_hash_index(index: int) -> tuple[int, int]:
    """Inverse of ``stored_hash_index``: returns ``(level, n)``. Useful to audit storage."""
    _check_size(index, "index")
    n = index // 2  # stored_hash_index(0, n) <= 2n, so n is in [index/2, index/2 + log2(index)]
    index_n = stored_hash_index(0, n)
    while True:
        # Appending leaf n writes 1 + trailing_zeros(n + 1) hashes.
        nxt = index_n + 1 + ((n + 1) & -(n + 1)).bit_length() - 1
        if nxt > index:
            break
        n += 1
        index_n = nxt
    level = index - index_n
    return level, n >> level


def stored_hash_count(n: int) -> int:
    """Number of hashes stored for a tree of ``n`` leaves (the storage length to expect)."""
    _check_size(n, "n")
    if n == 0:
        return 0
    count = stored_hash_index(0, n - 1) + 1
    i = n - 1
    while i & 1:  # subtrees completed by the last leaf
        count += 1
        i >>= 1
    return count


def _read(read_hashes: HashReader, indexes: list[int]) -> list[bytes]:
    """One batched read; checks the reader's answer since storage is outside our control."""
    if not indexes:
        return []
    hashes = list(read_hashes(indexes))
    if len(hashes) != len(indexes):
        raise ValueError(f"hash reader returned {len(hashes)} hashes for {len(indexes)} indexes")
    for h in hashes:
        _check_hash(h, "stored hash")
    return hashes


def stored_hashes_for_record_hash(n: int, record_hash: bytes, read_hashes: HashReader) -> list[bytes]:
    """Hashes to store when appending leaf ``n`` whose leaf hash is ``record_hash``.

    The result is the leaf hash followed by the hash of every subtree this leaf completes
    (one per trailing 1 bit of ``n``); store them contiguously from
    ``stored_hash_index(0, n)``. Reads at most log2(n) earlier hashes, in one call, and
    only if the leaf completes a subtree: appending is O(log n) reads and writes.
    """
    _check_size(n, "n")
    _check_hash(record_hash, "record_hash")
    m = ((n + 1) & -(n + 1)).bit_length() - 1  # trailing zeros of n + 1
    # Left siblings of the completed subtrees, in increasing storage order.
    indexes = [stored_hash_index(i, (n >> i) - 1) for i in reversed(range(m))]
    old = _read(read_hashes, indexes)
    hashes = [record_hash]
    h = record_hash
    for i in range(m):
        h = node_hash(old[m - 1 - i], h)
        hashes.append(h)
    return hashes


def stored_hashes(n: int, entry_bytes: bytes, read_hashes: HashReader) -> list[bytes]:
    """Like ``stored_hashes_for_record_hash`` but takes the raw entry."""
    return stored_hashes_for_record_hash(n, leaf_hash(entry_bytes), read_hashes)


# --- Reading trees and proofs from storage ---------------------------------------------


def _subtree_index(lo: int, hi: int, need: list[int]) -> None:
    """Append the storage indexes of the maximal complete subtrees covering leaves [lo, hi)."""
    while lo < hi:
        k = 1 << ((hi - lo).bit_length() - 1)  # largest power of two <= hi - lo
        level = k.bit_length() - 1
        need.append(stored_hash_index(level, lo >> level))
        lo += k


def _subtree_count(lo: int, hi: int) -> int:
    return (hi - lo).bit_count()


def _fold(hashes: list[bytes]) -> bytes:
    """Combine the complete subtrees of a range, right to left, into the range's MTH."""
    h = hashes[-1]
    for left in reversed(hashes[:-1]):
        h = node_hash(left, h)
    return h


def _range_hashes(ranges: list[tuple[int, int]], read_hashes: HashReader) -> list[bytes]:
    """MTH of each leaf range, with one batched read of O(log N) stored hashes in total."""
    need: list[int] = []
    for lo, hi in ranges:
        _subtree_index(lo, hi, need)
    stored = _read(read_hashes, need)
    out: list[bytes] = []
    pos = 0
    for lo, hi in ranges:
        count = _subtree_count(lo, hi)
        out.append(_fold(stored[pos : pos + count]))
        pos += count
    return out


def tree_hash(tree_size: int, read_hashes: HashReader) -> bytes:
    """Root hash MTH(D[0:tree_size]) from storage: one read of at most 1 + log2(N) hashes."""
    _check_size(tree_size, "tree_size")
    if tree_size == 0:
        return EMPTY_ROOT
    return _range_hashes([(0, tree_size)], read_hashes)[0]


def _inclusion_ranges(index: int, tree_size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTHs form PATH(index, D[0:tree_size]) (RFC 9162 §2.1.3.1), bottom-up."""
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, tree_size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:  # PATH(m, D[0:k]) : MTH(D[k:n])
            ranges.append((lo + k, hi))
            hi = lo + k
        else:  # PATH(m - k, D[k:n]) : MTH(D[0:k])
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()  # collected top-down; the RFC lists the deepest sibling first
    return ranges


def _consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTHs form PROOF(first, D[0:second]) (RFC 9162 §2.1.4.1), bottom-up.

    SUBPROOF's flag ``b`` is true exactly while the current range starts at leaf 0, so it
    is tracked as ``lo == 0``.
    """
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, second
    while first != hi:
        k = _split(hi - lo)
        if first <= lo + k:  # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            ranges.append((lo + k, hi))
            hi = lo + k
        else:  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            ranges.append((lo, lo + k))
            lo += k
    if lo != 0:  # SUBPROOF(m, D[m], false) = {MTH(D[m])}; with b true it is empty
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def inclusion_proof(index: int, tree_size: int, read_hashes: HashReader) -> list[bytes]:
    """Inclusion proof (audit path) of leaf ``index`` in the tree of ``tree_size`` leaves.

    RFC 9162 §2.1.3.1 ordering (bottom-up). At most 2·log2(N) hash reads, in one call.
    """
    _check_size(index, "index")
    _check_size(tree_size, "tree_size")
    if index >= tree_size:
        raise ValueError(f"leaf index {index} out of range for tree size {tree_size}")
    return _range_hashes(_inclusion_ranges(index, tree_size), read_hashes)


def consistency_proof(first: int, second: int, read_hashes: HashReader) -> list[bytes]:
    """Consistency proof that the tree of size ``first`` is a prefix of the one of size ``second``.

    RFC 9162 §2.1.4.1 ordering. ``first == second`` and ``first == 0`` are trivially
    consistent and yield ``[]`` (the RFC only defines 0 < first < second). At most
    2·log2(N) hash reads, in one call.
    """
    _check_size(first, "first")
    _check_size(second, "second")
    if first > second:
        raise ValueError(f"first tree size {first} is larger than second tree size {second}")
    if first == 0 or first == second:
        return []
    return _range_hashes(_consistency_ranges(first, second), read_hashes)


# --- Verification (RFC 9162 §2.1.3.2 and §2.1.4.2, verbatim) ----------------------------


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """True iff ``proof`` shows ``leaf_hash`` is leaf ``index`` of the tree (``tree_size``, ``root``).

    Implements RFC 9162 §2.1.3.2 step by step. Never raises on malformed input.
    """
    if not (_is_size(index) and _is_size(tree_size) and _is_hash(leaf_hash) and _is_hash(root)):
        return False
    if not all(_is_hash(p) for p in proof):
        return False
    # 1. leaf_index >= tree_size fails.
    if index >= tree_size:
        return False
    # 2. fn = leaf_index, sn = tree_size - 1.  3. r = hash.
    fn, sn = index, tree_size - 1
    r = leaf_hash
    # 4. For each value p in the inclusion_path array:
    for p in proof:
        # a. If sn is 0, stop and fail.
        if sn == 0:
            return False
        # b. If LSB(fn) is set, or if fn is equal to sn, then:
        if fn & 1 or fn == sn:
            # i. r = HASH(0x01 || p || r)
            r = node_hash(p, r)
            # ii. If LSB(fn) is not set, right-shift fn and sn until LSB(fn) is set or fn is 0.
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            # i. r = HASH(0x01 || r || p)
            r = node_hash(r, p)
        # c. Right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 5. sn must be 0 and r must equal the root.
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """True iff ``proof`` shows tree (``first``, ``first_root``) is a prefix of (``second``, ``second_root``).

    Implements RFC 9162 §2.1.4.2 for 0 < first < second. Edge cases the RFC leaves
    undefined are handled strictly: equal sizes need an empty proof and equal roots; an
    empty first tree needs an empty proof and ``first_root == EMPTY_ROOT``. Never raises.
    """
    if not (_is_size(first) and _is_size(second) and _is_hash(first_root) and _is_hash(second_root)):
        return False
    if not all(_is_hash(c) for c in proof):
        return False
    if first > second:
        return False
    if first == second:
        return len(proof) == 0 and first_root == second_root
    if first == 0:
        return len(proof) == 0 and first_root == EMPTY_ROOT
    # 1. An empty consistency_path fails.
    if not proof:
        return False
    path = list(proof)
    # 2. If first is an exact power of 2, prepend first_hash.
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    # 3. fn = first - 1, sn = second - 1.
    fn, sn = first - 1, second - 1
    # 4. If LSB(fn) is set, right-shift fn and sn equally until LSB(fn) is not set.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. fr = sr = first value of the path.
    fr = sr = path[0]
    # 6. For each subsequent value c:
    for c in path[1:]:
        # a. If sn is 0, stop and fail.
        if sn == 0:
            return False
        # b. If LSB(fn) is set, or if fn is equal to sn, then:
        if fn & 1 or fn == sn:
            # i. fr = HASH(0x01 || c || fr)   ii. sr = HASH(0x01 || c || sr)
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            # iii. If LSB(fn) is not set, right-shift until LSB(fn) is set or fn is 0.
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            # i. sr = HASH(0x01 || sr || c)
            sr = node_hash(sr, c)
        # c. Right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 7. fr == first_hash, sr == second_hash and sn == 0.
    return sn == 0 and fr == first_root and sr == second_root


# --- Reference and streaming root computation -------------------------------------------


def root_from_leaves(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes by the recursive RFC 9162 §2.1.1 definition (reference/tests)."""

    def mth(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return leaf_hashes[lo]
        k = _split(hi - lo)
        return node_hash(mth(lo, lo + k), mth(lo + k, hi))

    if not leaf_hashes:
        return EMPTY_ROOT
    for h in leaf_hashes:
        _check_hash(h, "leaf hash")
    return mth(0, len(leaf_hashes))


class StreamingRoot:
    """Incremental MTH with O(log n) memory: push leaf hashes, ask for ``root()`` any time.

    Keeps one hash per complete subtree (the binary digits of the leaf count), which is
    how an auditor re-derives a checkpoint root from an exported log in one pass.
    """

    __slots__ = ("_size", "_stack")

    def __init__(self) -> None:
        self._stack: list[bytes] = []
        self._size = 0

    @classmethod
    def resume(cls, size: int, frontier: Sequence[bytes]) -> "StreamingRoot":
        """Continue a tree of `size` leaves from the hashes of its maximal complete subtrees,
        left to right (one per 1 bit of `size`: the tree's frontier, O(log n) hashes)."""
        _check_size(size, "size")
        if len(frontier) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} frontier hashes, got {len(frontier)}")
        for h in frontier:
            _check_hash(h, "frontier hash")
        roots = cls()
        roots._stack = list(frontier)
        roots._size = size
        return roots

    @property
    def size(self) -> int:
        return self._size

    def push(self, leaf_hash: bytes) -> None:
        _check_hash(leaf_hash, "leaf hash")
        self.extend((leaf_hash,))

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Push many leaf hashes; the hot loop is kept tight for million-entry audits."""
        stack = self._stack
        pop, append = stack.pop, stack.append
        sha256 = _sha256
        size = self._size
        for h in leaf_hashes:
            if type(h) is not bytes or len(h) != HASH_SIZE:
                raise ValueError(f"leaf hash must be {HASH_SIZE} bytes")
            n = size
            while n & 1:  # each trailing 1 bit of the old size completes a subtree
                h = sha256(b"\x01" + pop() + h).digest()
                n >>= 1
            append(h)
            size += 1
        self._size = size

    def extend_stored(self, leaf_hashes: Iterable[bytes]) -> list[bytes]:
        """Push leaf hashes; return the hashes tlog storage holds for them, in storage order.

        For each leaf: its hash, then the hash of every subtree it completes, i.e. what
        ``stored_hashes_for_record_hash`` returns, computed without reads. Checking a stored
        tree is then one pass comparing this with the stored hashes from storage index
        ``stored_hash_index(0, size)`` on (how ``hozen audit verify`` checks every stored hash).
        """
        stack = self._stack
        pop, append = stack.pop, stack.append
        out: list[bytes] = []
        emit = out.append
        sha256 = _sha256
        size = self._size
        for h in leaf_hashes:
            if type(h) is not bytes or len(h) != HASH_SIZE:
                raise ValueError(f"leaf hash must be {HASH_SIZE} bytes")
            emit(h)
            n = size
            while n & 1:
                h = sha256(b"\x01" + pop() + h).digest()
                emit(h)
                n >>= 1
            append(h)
            size += 1
        self._size = size
        return out

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        return _fold(self._stack)


class MemoryTree:
    """An in-memory tlog store (a list of stored hashes), for tests and benchmarks.

    It is also the reference for how a persistent store must behave: ``append`` writes
    exactly ``stored_hashes_for_record_hash(...)`` at ``stored_hash_index(0, n)``.
    """

    def __init__(self) -> None:
        self.hashes: list[bytes] = []
        self.size = 0

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        for i in indexes:
            if not 0 <= i < len(self.hashes):
                raise ValueError(f"stored hash index {i} not written (have {len(self.hashes)})")
        return [self.hashes[i] for i in indexes]

    def append(self, record_hash: bytes) -> int:
        """Append a leaf hash; returns its leaf index."""
        n = self.size
        new = stored_hashes_for_record_hash(n, record_hash, self.read_hashes)
        if stored_hash_index(0, n) != len(self.hashes):  # invariant of the layout
            raise AssertionError("stored hash layout out of sync")
        self.hashes.extend(new)
        self.size = n + 1
        return n

    def append_entry(self, entry_bytes: bytes) -> int:
        return self.append(leaf_hash(entry_bytes))

    def _size_arg(self, size: int | None) -> int:
        if size is None:
            return self.size
        _check_size(size, "tree size")
        if size > self.size:
            raise ValueError(f"tree size {size} exceeds stored size {self.size}")
        return size

    def root(self, size: int | None = None) -> bytes:
        return tree_hash(self._size_arg(size), self.read_hashes)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(index, self._size_arg(size), self.read_hashes)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        return consistency_proof(first, self._size_arg(second), self.read_hashes)
