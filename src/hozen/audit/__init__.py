"""The audit log. `record()` is the one way to write an entry; it joins the caller's transaction."""

from .service import record, record_denial, target_ref  # noqa: F401
