"""Settings for the test run: Hozen's own settings plus a test-only app with protected models.

On SQLite the test database is a file, not Django's shared in-memory default: the concurrency
tests (tests/concurrency) run requests in several threads, each with its own connection, and need
SQLite's real locking (WAL, a busy timeout, BEGIN IMMEDIATE) exactly as the embedded default has
it. The file lives in the temporary folder, one per test process; `synchronous=NORMAL` instead of
FULL because a crashed test run need not survive a power cut.
"""

import os
import tempfile

from hozen.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]  # noqa: F405

# The API's request budget is off in the test run (the fuzz alone sends thousands a minute);
# tests/api/test_throttle.py turns it on.
HOZEN_API_RATE = "off"

# No sign-in delay for an address with failures (every test client is 127.0.0.1);
# tests/core/test_lockout.py turns it on.
HOZEN_LOGIN_DELAY_MAX_SECONDS = 0

# Shreds in the test run go to a register of this run, not into the working tree's var/.
os.environ.setdefault("HOZEN_SHRED_REGISTER", os.path.join(tempfile.gettempdir(), f"hozen-test-shreds-{os.getpid()}.jsonl"))

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"hozen-test-{os.getpid()}.sqlite3"),
    }
    DATABASES["default"]["OPTIONS"]["init_command"] = (  # noqa: F405
        DATABASES["default"]["OPTIONS"]["init_command"].replace("synchronous=FULL", "synchronous=NORMAL"))  # noqa: F405
