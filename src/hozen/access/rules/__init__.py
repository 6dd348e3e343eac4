"""Rule modules, one per domain area. Importing this package registers every rule."""

from . import core  # noqa: F401
