"""The audit log. `record()` is the one way to write an entry; it joins the caller's transaction.

Modules: `service` (record), `canonical` (the bytes), `merkle` and `note` (pure RFC 9162 and C2SP
code), `integrator` (gives entries their leaf index, O(log n) per append, lock-free for writers),
`tree` (roots and proofs from the stored hashes), `checkpoints` (signing key and signed
checkpoints), `queries` (policy-checked reads for API and CLI), `verify` (`hozen audit verify`),
`jobs` (the background checkpoint job), `cli` (`hozen audit ...`).
"""

from .service import Entry, record, record_denial, record_many, target_ref  # noqa: F401
