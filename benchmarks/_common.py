"""Shared machinery of the benchmarks: scratch databases, worker processes, machine facts, the report.

Every measurement runs in a *worker*: a fresh Python process (this same script re-run with
``--worker NAME``) whose environment points Hozen at a scratch database, never at the developer's
``var/``:

- SQLite: ``HOZEN_DATA_DIR`` is a new temporary folder (database, secret key and keyring in it);
- PostgreSQL: ``HOZEN_DATABASE_URL`` names a scratch database ``hozen_bench_<pid>_<n>`` created
  for the run and dropped afterwards (also after an error or Ctrl-C).

A fresh process per measurement also makes its peak memory (``ru_maxrss`` from ``os.wait4``)
the peak of that measurement alone. Workers print one JSON line as their last output.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
PG_ADMIN_URL = os.environ.get("HOZEN_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")

#: Variables of the caller that must never leak into a worker (they could point at real data).
_SCRUBBED = ("HOZEN_DATABASE_URL", "HOZEN_DATA_DIR", "HOZEN_KEK", "HOZEN_KEK_FILE", "HOZEN_SECRET_KEY",
             "HOZEN_PRODUCTION", "DJANGO_SETTINGS_MODULE")
_counter = itertools.count(1)
_LOAD_AT_START = os.getloadavg()


# --- scratch databases --------------------------------------------------------------------------------


def pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:
        return False


def pg_url(dbname: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{dbname}"


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


@dataclass
class Scratch:
    """One scratch database and its data folder; `env` is what a worker process runs with."""

    backend: str  # "sqlite" | "postgresql"
    tmp: Path
    dbname: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def sqlite_path(self) -> Path:
        return self.tmp / "hozen.sqlite3"

    def disk_bytes(self) -> int:
        if self.backend == "sqlite":
            return sum(p.stat().st_size for p in self.tmp.glob("hozen.sqlite3*"))
        import psycopg

        with psycopg.connect(PG_ADMIN_URL) as conn:
            return conn.execute("SELECT pg_database_size(%s)", [self.dbname]).fetchone()[0]


# --- which Hozen is measured ---------------------------------------------------------------------------

_SOURCE = {"path": ROOT / "src", "label": ""}


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def use_source(rev: str | None) -> str:
    """Measure the work tree's src/ (rev None) or a snapshot of `rev`'s src/ (`git archive`).

    A snapshot keeps a long run stable while src/ is being edited; workers import it first
    (PYTHONPATH). Returns a line for the report naming exactly what was measured.
    """
    if rev:
        commit = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
        dest = Path(tempfile.mkdtemp(prefix="hozen-bench-src-"))
        archive = subprocess.run(["git", "archive", commit, "src"], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        _SOURCE["path"] = dest / "src"
        _SOURCE["label"] = f"commit {commit[:12]} ({_git('log', '-1', '--format=%s', commit)[:70]}), snapshot of src/"
        import atexit

        atexit.register(shutil.rmtree, dest, True)
        sys.path.insert(0, str(_SOURCE["path"]))
    else:
        try:
            commit = _git("rev-parse", "HEAD")
            dirty = _git("status", "--porcelain", "--", "src")
            _SOURCE["label"] = f"work tree at commit {commit[:12]}" + (" with uncommitted changes in src/" if dirty else "")
        except (OSError, subprocess.CalledProcessError):
            _SOURCE["label"] = "work tree (not a git checkout)"
    return _SOURCE["label"]


@contextlib.contextmanager
def scratch(backend: str, tmp_root: str | None = None) -> Iterator[Scratch]:
    """A scratch database for `backend`, migrated, dropped (and its folder removed) on exit."""
    tmp = Path(tempfile.mkdtemp(prefix=f"hozen-bench-{backend}-", dir=tmp_root))
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env.update({
        "HOZEN_DATA_DIR": str(tmp),
        "HOZEN_KEK_FILE": str(tmp / "kek.json"),
        "DJANGO_SETTINGS_MODULE": "hozen.settings",
        "HOZEN_LOG_LEVEL": "ERROR",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(_SOURCE["path"]), env.get("PYTHONPATH")])),
    })
    s = Scratch(backend=backend, tmp=tmp, env=env)
    try:
        if backend == "postgresql":
            s.dbname = f"hozen_bench_{os.getpid()}_{next(_counter)}"
            _pg_admin(f'DROP DATABASE IF EXISTS "{s.dbname}"')
            _pg_admin(f'CREATE DATABASE "{s.dbname}"')
            env["HOZEN_DATABASE_URL"] = pg_url(s.dbname)
        elif backend != "sqlite":
            raise ValueError(f"unknown backend {backend!r}")
        yield s
    finally:
        if s.dbname:
            with contextlib.suppress(Exception):
                _pg_admin(f'DROP DATABASE IF EXISTS "{s.dbname}" WITH (FORCE)')
        shutil.rmtree(tmp, ignore_errors=True)


def setup_django(migrate: bool = True) -> None:
    """In a worker: configure Django from the scratch environment and create the schema."""
    data_dir = os.environ.get("HOZEN_DATA_DIR", "")
    if not data_dir or Path(data_dir).resolve() == (ROOT / "var").resolve():
        raise SystemExit("refusing to run: HOZEN_DATA_DIR must be a scratch folder, never var/")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)


# --- workers ------------------------------------------------------------------------------------------


@dataclass
class WorkerResult:
    data: dict
    maxrss_kib: int
    wall_s: float


def run_worker(script: Path, name: str, env: dict[str, str], params: dict | None = None,
               timeout: float | None = None) -> WorkerResult:
    """Run `script --worker name --params JSON` in `env`; its last stdout line is JSON."""
    cmd = [sys.executable, str(script), "--worker", name, "--params", json.dumps(params or {})]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=None, text=True, cwd=ROOT)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    # The worker reports its own peak RSS (getrusage RUSAGE_SELF, see worker_main).
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"worker {name} failed with exit code {proc.returncode}")
    lines = [ln for ln in out.splitlines() if ln.strip()]
    data = json.loads(lines[-1])
    return WorkerResult(data=data, maxrss_kib=data.get("_maxrss_kib", 0), wall_s=wall)


def run_command(cmd: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Run a command; returns (wall seconds, child's peak RSS in KiB from wait4, stdout)."""
    out_path = Path(env["HOZEN_DATA_DIR"]) / f"cmd-{next(_counter)}.out"
    with open(out_path, "w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = out_path.read_text()
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} failed ({proc.returncode}): {text.strip()[-500:]}")
    return wall, usage.ru_maxrss, text


def worker_main(workers: dict, argv: list[str]) -> bool:
    """If argv asks for a worker, run it, print its JSON result (plus peak RSS) and return True."""
    if "--worker" not in argv:
        return False
    import resource

    name = argv[argv.index("--worker") + 1]
    params = json.loads(argv[argv.index("--params") + 1]) if "--params" in argv else {}
    result = workers[name](**params)
    result["_maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sys.stdout.flush()
    print(json.dumps(result), flush=True)
    return True


def rss_kib() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# --- statistics and formatting ------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def fmt_rate(x: float) -> str:
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:,.1f}"
    return f"{x:,.2f}"


def fmt_ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.3f}" if ms < 10 else f"{ms:,.1f}"


def fmt_mib(kib: float) -> str:
    return f"{kib / 1024:,.0f}"


def fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)


def table(headers: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


# --- machine facts and the report ---------------------------------------------------------------------


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _mem_gib() -> str:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def pg_version() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            settings = dict(conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('synchronous_commit', 'fsync', 'wal_sync_method', 'commit_delay', 'shared_buffers')").fetchall())
        return (f"{version} (fsync={settings.get('fsync')}, synchronous_commit={settings.get('synchronous_commit')}, "
                f"wal_sync_method={settings.get('wal_sync_method')}, commit_delay={settings.get('commit_delay')}, "
                f"shared_buffers={int(settings.get('shared_buffers', 0)) * 8 // 1024} MiB)")
    except Exception:
        return None


def machine_facts(extra: dict[str, str] | None = None) -> str:
    import sqlite3

    import django

    facts = {
        "Hozen measured": _SOURCE["label"] or use_source(None),  # benches without --rev: the work tree's commit
        "CPU": f"{os.cpu_count()} cores, {_cpu_model()}",
        "memory": _mem_gib(),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Django": django.get_version(),
        "SQLite": f"{sqlite3.sqlite_version} (WAL, synchronous=FULL, as in hozen.settings)",
        "PostgreSQL": pg_version() or "not reachable",
        "load average (1/5/15 min)": "at start {:.2f} {:.2f} {:.2f}, at end {:.2f} {:.2f} {:.2f} ({} = every core busy; "
                                     "other work on the machine skews the figures)".format(
                                         *_LOAD_AT_START, *os.getloadavg(), os.cpu_count()),
    }
    with contextlib.suppress(Exception):
        import psycopg

        facts["psycopg"] = psycopg.__version__
    facts.update(extra or {})
    return "\n".join(f"- {k}: {v}" for k, v in facts.items())


def today() -> str:
    return dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")


def command_line(script: Path, argv: list[str]) -> str:
    rel = os.path.relpath(script, ROOT)
    return shlex.join([".venv/bin/python", rel, *argv])


_DOC_HEAD = """# Benchmarks

Measured on demand, never in the test suite. `make bench` installs `.[dev,bench]` and runs every
benchmark with its defaults; each script also runs alone (`benchmarks/README.md` lists the options).
Each section below is regenerated in place by the script named in it, between its markers: edit
outside the markers only. Every run uses scratch databases that it creates and drops (SQLite in a
temporary `HOZEN_DATA_DIR`, PostgreSQL databases `hozen_bench_<pid>_<n>`), never `var/`.
"""


def write_section(name: str, body: str) -> None:
    """Replace the section `name` of docs/benchmarks.md (between its markers), or append it."""
    begin, end = f"<!-- BEGIN bench:{name} -->", f"<!-- END bench:{name} -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    text = DOC.read_text() if DOC.exists() else _DOC_HEAD
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)
    print(f"wrote section {name!r} of {DOC.relative_to(ROOT)}")


def backends_arg(value: str) -> list[str]:
    """--db: sqlite, postgresql, or auto (SQLite, and PostgreSQL when it answers)."""
    names = [v.strip() for v in value.split(",") if v.strip()]
    if names == ["auto"]:
        return ["sqlite", "postgresql"] if pg_available() else ["sqlite"]
    for n in names:
        if n not in ("sqlite", "postgresql"):
            raise SystemExit(f"--db: unknown backend {n!r} (sqlite, postgresql, auto)")
    if "postgresql" in names and not pg_available():
        raise SystemExit(f"--db postgresql: no PostgreSQL answers at {PG_ADMIN_URL}")
    return names


def int_list(text: str) -> list[int]:
    return [int(float(t)) for t in text.split(",") if t.strip()]


# --- synthetic audit entries in the shape hozen.audit.service.record() writes -------------------------

_ACTIONS = ("document.read", "case.update", "account.signin", "designation.create", "assessment.decide",
            "case.reveal", "handler.add", "complaint.create")
_TARGETS = ("core.case", "core.document", "core.account", "core.designation")
_ORGS = ("cao", "mod", "mofa", "meti", "npa", "biz001", "biz002", "ovs")
_ROLES = ("investigator", "esi_manager", "security_officer", "adjudicator", "auditor")
_BASE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class EntryFactory:
    """Rows for `audit_auditentry`: canonical JSON as record() makes it (sorted keys, compact), ~300 B.

    Deterministic in `i`, fast (string templates, not json.dumps per row); `check()` proves on a
    sample that the text equals `canonical_json` of its own parse, i.e. it is what record() writes.
    """

    def __init__(self, vendor: str) -> None:
        self.vendor = vendor
        self._sec = -1
        self._prefix = ""
        self._col_prefix = ""

    def row(self, i: int) -> tuple:
        sec, ms = divmod(i, 1000)
        if sec != self._sec:
            t = _BASE + dt.timedelta(seconds=sec)
            self._sec, self._prefix, self._col_prefix = sec, t.strftime("%Y-%m-%dT%H:%M:%S"), t.strftime(
                "%Y-%m-%d %H:%M:%S")
        frac = f".{ms:03d}000" if ms else ""
        time_json = f"{self._prefix}{frac}Z"
        time_col = f"{self._col_prefix}{frac or '.000000'}" + ("+00:00" if self.vendor == "postgresql" else "")
        user = i % 997
        org = _ORGS[user % len(_ORGS)]
        action = _ACTIONS[i % len(_ACTIONS)]
        ttype = _TARGETS[i % len(_TARGETS)]
        tid = str(i * 7919 % 1_000_003)
        name = f"user{user:04d}"
        data = (
            f'{{"action":"{action}","actor":{{"account":"{name}","account_id":{user + 1},'
            f'"channel":"web","kind":"account","organisation":"{org}","person_id":{user + 101},'
            f'"role":"{_ROLES[user % len(_ROLES)]}"}},"details":{{"n":{i}}},"outcome":"success",'
            f'"request_id":"{i:032x}","target":{{"id":"{tid}","type":"{ttype}"}},"time":"{time_json}","v":1}}'
        )
        return (data, time_col, action, name, org, ttype, tid, "success")

    def check(self) -> None:
        from hozen.audit.canonical import canonical_json

        for i in (0, 1, 999, 1000, 123_456, 9_999_999):
            data = self.row(i)[0]
            if canonical_json(json.loads(data)).decode("utf-8") != data:
                raise AssertionError(f"synthetic entry {i} is not canonical JSON: {data}")


ENTRY_COLUMNS = ("data", "time", "action", "actor_name", "organisation", "target_type", "target_id", "outcome")
