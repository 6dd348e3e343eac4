"""Canonical JSON for audit entries: UTF-8, keys sorted, no insignificant white space.

The bytes are what the Merkle tree hashes, so this function must never change its output
for a given value. Only JSON types are accepted: dates and decimals are turned into strings
by the caller, so nothing depends on a default= hook.
"""

import json


def canonical_json(value) -> bytes:
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")
