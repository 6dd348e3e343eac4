"""Canonical JSON for audit entries: UTF-8, keys sorted, no insignificant white space.

The bytes are what the Merkle tree hashes, so this function must never change its output
for a given value. Only JSON types are accepted: dates and decimals are turned into strings
by the caller, so nothing depends on a default= hook.

One encoder, built once: `json.dumps` with these options builds an identical `JSONEncoder` on
every call (the output is the same; only that construction is saved).
"""

import json

_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)

#: The canonical text of a value (before UTF-8 encoding): what `AuditEntry.data` stores.
canonical_text = _ENCODER.encode


def canonical_json(value) -> bytes:
    return _ENCODER.encode(value).encode("utf-8")
