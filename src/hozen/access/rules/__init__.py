"""Rule modules, one per domain area. Importing this package registers every rule."""

from . import assessment, audit, core, crypto, designation, rules_packs  # noqa: F401
