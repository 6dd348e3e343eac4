"""The shred register: which data keys were destroyed, and when, kept outside the database
(issue 13 §3: shredding survives a restore).

A restore brings back the database as it was at the backup, with the data keys shredded since
then still in it. Each shred therefore also appends one line to this file — the key id and the
time, nothing about the person — and `hozen restore` destroys again every key the register names
that the restored database still holds. The line is written (and flushed to disk) inside the
shred's transaction, before it commits: a shred that then fails to commit leaves a line that a
later restore acts on, so the register errs on the side of destruction, never of resurrection.

``HOZEN_SHRED_REGISTER`` names the file (default ``HOZEN_DATA_DIR/shred-register.jsonl``, 0600).
Keep it, and back it up, apart from the database backups; with several application servers, on
storage they share (or give `hozen restore` each server's file).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from django.conf import settings


def path() -> Path:
    return Path(os.environ.get("HOZEN_SHRED_REGISTER") or Path(settings.DATA_DIR) / "shred-register.jsonl")


def record(key_id, destroyed_at: dt.datetime) -> None:
    """Append one destroyed key (flushed and fsync'ed before the caller commits)."""
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"key_id": str(key_id), "destroyed_at": destroyed_at.isoformat()}) + "\n"
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def entries(files: list[Path] | None = None) -> list[dict]:
    """Every destroyed key in the register(s); a malformed line is reported, not skipped silently."""
    found = []
    for file in files or [path()]:
        if not file.exists():
            continue
        for number, line in enumerate(file.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                found.append({"key_id": str(row["key_id"]), "destroyed_at": dt.datetime.fromisoformat(row["destroyed_at"])})
            except (ValueError, KeyError, TypeError):
                raise ValueError(f"{file}: line {number} is not a shred register entry") from None
    return found
