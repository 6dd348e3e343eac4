"""Rule modules, one per domain area. Importing this package registers every rule."""

from . import assessment, audit, core, crypto, designation, handling, operators, rules_packs, vault  # noqa: F401
