"""Reads of the audit log for the API and the CLI: entries, proofs and checkpoints, by policy.

Each read asks the policy (`audit.read`: auditor and oversight roles, or the server's
operator). Every proof is O(log n): one `WHERE index IN (...)` query over the stored hashes.
A request past the integrated size first runs the integrator, so an entry written a moment
ago can be proved without waiting for the background job.
Out-of-range arguments raise RuleViolation naming the parameter (the API answers 400).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from hozen.access import policy
from hozen.core.errors import RuleViolation

from . import checkpoints, integrator, tree
from .models import AuditCheckpoint, AuditLeaf


@dataclass(frozen=True)
class EntryAt:
    index: int
    leaf_hash: bytes
    entry: dict
    data: str


def _integrated_size(at_least: int) -> int:
    """The tree size, integrating first when the caller asks about something not integrated yet."""
    size = tree.tree_size()
    if at_least > size:
        size = integrator.integrate().size
    return size


def _too_large(field: str, value: int, size: int) -> RuleViolation:
    return RuleViolation(
        "out_of_range",
        f"{field} ({value}) が監査ログの大きさ ({size}) を超えています。",
        f"{field} ({value}) is beyond the audit log's size ({size}).",
        field=field,
    )


def _non_negative(**values: int) -> None:
    for field, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise RuleViolation("bad_parameter", f"{field} は 0 以上の整数で指定してください。",
                                f"{field} must be a whole number, 0 or more.", field=field)


def _check_index(field: str, index: int, size: int) -> None:
    if index >= size:
        raise RuleViolation(
            "out_of_range",
            f"{field} ({index}) は 0 以上 {size} 未満で指定してください（監査ログの記録数は {size} 件です）。",
            f"{field} ({index}) must be below the audit log's size ({size}).",
            field=field,
        )


def entry_for(*, actor, index: int) -> EntryAt:
    """Leaf `index`: the entry as recorded and its leaf hash as the tree holds it."""
    policy.require(actor, "audit.read")
    _non_negative(index=index)
    _check_index("index", index, _integrated_size(index + 1))
    leaf = AuditLeaf.objects.select_related("entry").get(index=index)
    return EntryAt(index=index, leaf_hash=tree.leaf_hash(index), entry=json.loads(leaf.entry.data),
                   data=leaf.entry.data)


def inclusion_proof_for(*, actor, index: int, tree_size: int) -> list[bytes]:
    policy.require(actor, "audit.read")
    _non_negative(index=index, tree_size=tree_size)
    size = _integrated_size(tree_size)
    if tree_size > size:
        raise _too_large("tree_size", tree_size, size)
    _check_index("index", index, tree_size)
    return tree.inclusion_proof(index, tree_size)


def consistency_proof_for(*, actor, first: int, second: int) -> list[bytes]:
    policy.require(actor, "audit.read")
    _non_negative(first=first, second=second)
    size = _integrated_size(second)
    if second > size:
        raise _too_large("second", second, size)
    if first > second:
        raise RuleViolation(
            "out_of_range", f"first ({first}) は second ({second}) 以下で指定してください。",
            f"first ({first}) must not be larger than second ({second}).", field="first")
    return tree.consistency_proof(first, second)


def root_for(*, actor, tree_size: int) -> bytes:
    policy.require(actor, "audit.read")
    _non_negative(tree_size=tree_size)
    size = _integrated_size(tree_size)
    if tree_size > size:
        raise _too_large("tree_size", tree_size, size)
    return tree.root(tree_size)


def checkpoint_for(*, actor) -> AuditCheckpoint:
    """The latest signed checkpoint; the first one is issued on demand."""
    policy.require(actor, "audit.read")
    latest = checkpoints.latest()
    if latest is None:
        policy.require(actor, "audit.checkpoint")
        latest = checkpoints.latest_or_issue()
    return latest


def verifier_key_for(*, actor) -> str:
    policy.require(actor, "audit.read")
    return checkpoints.verifier_key_text()
