#!/usr/bin/env python3
"""Requests per second through the production server (issue 13 §5): Hozen against a bare Django view.

Targets (issue 13 §5), each as a ratio to the bare view's requests per second measured in the same
run, under the same gunicorn configuration (``hozen.server.options``: ``HOZEN_WORKERS`` workers,
gthread, ``HOZEN_THREADS`` threads each), with p99 under 100 ms at 8 concurrent clients:

- the designation list ``GET /api/v1/designations?limit=25`` (bearer token): at least 35 %, and at
  most 4 SQL statements per request;
- the audited detail ``GET /api/v1/designations/{id}`` (an audit entry per read): at least 25 %;
- a signed-in official's dashboard page ``GET /dashboard/`` (ESI manager, session cookie): at least 25 %.

Per backend, in one scratch database (created, migrated and dropped by the script, see
benchmarks/README.md):

1. Data (a worker process): the demo set and its scenarios (``hozen.core.demo``: organs, one account
   per role, METI designations at several stages, a provision, assessment cases), and ``--count``
   designations bulk-loaded over METI and MIC before the scenarios (``designation_bench._load``: holders, events, 85 % in
   force), so METI's ESI manager ``esi.meti`` sees a few hundred. An API token for ``esi.meti``'s
   ESI-manager role, and a session signed in through the real views (password and TOTP). The SQL
   statements of one request of each endpoint are counted in-process (Django's test client,
   ``CaptureQueriesContext``, after a warm-up request).
2. Two servers started side by side: Hozen by ``python -m hozen.cli serve --no-jobs`` (the
   production command) and the bare project (``benchmarks/_bare_app.py``: no middleware, one view
   reading 25 rows through the ORM as JSON) by ``hozen.server.run(app=...)``: the same gunicorn
   options. ``HOZEN_API_RATE`` is set far above what the load reaches (the budget is still counted
   on every request); everything else is Hozen's default (DEBUG off, the access log on, written to a
   file in the scratch folder).
3. ``--rounds`` rounds, each running every target in turn (bare view, list, detail, dashboard) for
   ``--seconds`` after a one-second warm-up, so a change in the machine's load touches all alike.
   The load: a separate process (asyncio, no dependency) holding ``--clients`` keep-alive
   connections, each sending its next request when the previous answer is read; latencies are
   timed per request. Anything but 200 counts as an error and is reported.

    .venv/bin/python benchmarks/throughput_bench.py                       # SQLite, and PostgreSQL if it answers
    .venv/bin/python benchmarks/throughput_bench.py --db sqlite --seconds 5 --rounds 1 --no-doc
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    ROOT,
    backends_arg,
    command_line,
    fmt_ms,
    fmt_rate,
    machine_facts,
    percentile,
    run_worker,
    scratch,
    setup_django,
    table,
    today,
    use_source,
    verdict,
    worker_main,
    write_section,
)

SCRIPT = Path(__file__).resolve()
BENCH_DIR = SCRIPT.parent
SECTION = "throughput"
P99_TARGET_MS = 100.0
LIST_STATEMENTS_TARGET = 4
MANAGER = "esi.meti"

#: name, shown label, ratio target to the bare view (None: the reference itself)
TARGETS = (
    ("bare", "bare Django view, 25 rows as JSON (`benchmarks/_bare_app.py`)", None),
    ("list", "API list `GET /api/v1/designations?limit=25` (bearer token)", 0.35),
    ("detail", "audited API detail `GET /api/v1/designations/{id}` (bearer token)", 0.25),
    ("dashboard", "ESI manager's dashboard `GET /dashboard/` (signed-in session)", 0.25),
)


# --- the data (a worker, Django configured for the scratch database) -------------------------------------

def worker_setup(count: int, seed: int) -> dict:
    os.environ["HOZEN_ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    sys.path.insert(0, str(ROOT))
    from hozen.crypto.kek import create_keyring_file
    from hozen.crypto.provider import kek_file

    setup_django(migrate=False)
    if not kek_file().exists():
        create_keyring_file(kek_file())
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)

    import designation_bench
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from hozen.core import demo
    from hozen.core import services as core
    from hozen.core.actor import Actor
    from hozen.core.models import Account, Organisation
    from hozen.designation.models import Designation, State

    operator = Actor.operator("bench")
    t0 = time.perf_counter()
    demo.load(actor=operator)
    manager = Account.objects.get(username=MANAGER)
    head = Account.objects.get(username="head.meti")
    orgs = {code: Organisation.objects.get(code=code) for code in designation_bench.ORGANS[:2]}  # METI, MIC
    loaded = designation_bench._load(count, 2, orgs, manager, head, seed)
    demo.load_scenarios(actor=operator)  # after the bulk load: its approvals take the next serials
    assignment = manager.active_assignments().get(role="esi_manager", organisation__code="METI")
    token = core.create_api_token(actor=operator, account=manager, assignment=assignment)

    # A session through the real sign-in views: password, then the TOTP code, then the ESI-manager role.
    client = Client()
    response = client.post("/signin/", {"username": MANAGER, "password": demo.DEMO_PASSWORD})
    assert response.status_code == 302, response.content[:300]
    response = client.post("/signin/verify/", {"token": demo.current_code(MANAGER)})
    assert response.status_code == 302, response.content[:300]
    client.post("/role/", {"assignment": assignment.pk})
    setup_s = time.perf_counter() - t0

    ids = list(Designation.objects.filter(organisation=orgs["METI"]).exclude(state=State.DRAFT)
               .values_list("pk", flat=True))
    random.Random(seed).shuffle(ids)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    api = Client()
    paths = {"list": "/api/v1/designations?limit=25", "detail": f"/api/v1/designations/{ids[0]}",
             "dashboard": "/dashboard/"}
    statements, sql = {}, {}
    for name, path in paths.items():
        c, headers = (client, {}) if name == "dashboard" else (api, bearer)
        first = c.get(path, **headers)  # warm: the token's once-a-minute "last used" write is not counted
        if first.status_code != 200:
            raise RuntimeError(f"GET {path}: {first.status_code} {first.content[:300]!r}")
        with CaptureQueriesContext(connection) as ctx:
            c.get(path, **headers)
        statements[name] = len(ctx.captured_queries)
        sql[name] = [q["sql"][:160] for q in ctx.captured_queries]
    total = api.get(paths["list"], **bearer).json()["total"]
    return {"token": token, "session": client.cookies[_session_cookie()].value, "ids": ids[:200],
            "statements": statements, "sql": sql, "visible": total, "setup_s": setup_s,
            "designations": Designation.objects.count(), "loaded": loaded, "vendor": connection.vendor}


def _session_cookie() -> str:
    from django.conf import settings

    return settings.SESSION_COOKIE_NAME


# --- the load (a worker without Django) ----------------------------------------------------------------

def _request(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Accept: application/json, text/html",
             *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; (status, whether the server closes the connection)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length, chunked, close = None, False, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection" and b"close" in value.lower():
            close = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length is not None:
        await reader.readexactly(length)
    else:
        await reader.read()
        close = True
    return status, close


async def _load(port: int, requests: list[bytes], clients: int, warmup: float, seconds: float) -> dict:
    loop = asyncio.get_running_loop()
    start = loop.time() + warmup
    end = start + seconds
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    reconnects = 0

    async def client(n: int) -> None:
        nonlocal reconnects
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = n
        while True:
            t = loop.time()
            if t >= end:
                break
            writer.write(requests[i % len(requests)])
            i += clients
            status, close = await _read_response(reader)
            done = loop.time()
            if start <= done < end:
                latencies.append(done - t)
                statuses[status] = statuses.get(status, 0) + 1
            if close:
                writer.close()
                reconnects += 1
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()

    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.gather(*(client(n) for n in range(clients)))
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    latencies.sort()
    return {"requests": len(latencies), "rate": len(latencies) / seconds,
            "p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
            "statuses": {str(k): v for k, v in statuses.items()}, "reconnects": reconnects,
            "client_cpu": cpu / (warmup + seconds)}


def worker_load(port: int, paths: list[str], headers: dict, clients: int, warmup: float, seconds: float) -> dict:
    requests = [_request(p, headers) for p in paths]
    return asyncio.run(_load(port, requests, clients, warmup, seconds))


WORKERS = {"setup": worker_setup, "load": worker_load}


# --- the servers ----------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(port: int, path: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited ({proc.returncode}): {log.read_text()[-1500:]}")
        with contextlib.suppress(OSError):
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(_request(path, {"Connection": "close"}))
                if s.recv(12).startswith(b"HTTP/1."):
                    return
        time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not answer within {timeout:.0f} s: {log.read_text()[-1500:]}")


@contextlib.contextmanager
def servers(env: dict[str, str], workers: int, threads: int, tmp: Path):
    """Hozen (`hozen serve --no-jobs`) and the bare project, both under hozen.server's gunicorn options."""
    env = {**env, "HOZEN_WORKERS": str(workers), "HOZEN_THREADS": str(threads),
           "HOZEN_API_RATE": "1000000000/60"}
    ports = {"hozen": _free_port(), "bare": _free_port()}
    bare_env = {**env, "DJANGO_SETTINGS_MODULE": "_bare_app",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH_DIR), env.get("PYTHONPATH")]))}
    commands = {
        "hozen": ([sys.executable, "-m", "hozen.cli", "serve", "--no-jobs", "--host", "127.0.0.1",
                   "--port", str(ports["hozen"])], env, "/api/v1/health"),
        "bare": ([sys.executable, str(SCRIPT), "--serve-bare", str(ports["bare"])], bare_env, "/bare/"),
    }
    procs: dict[str, subprocess.Popen] = {}
    try:
        for name, (cmd, e, probe) in commands.items():
            log = tmp / f"server-{name}.log"
            with open(log, "w") as out:
                procs[name] = subprocess.Popen(cmd, env=e, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                               start_new_session=True)
            _wait_ready(ports[name], probe, procs[name], log)
        yield ports
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # gunicorn's graceful stop
        for proc in procs.values():
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the server's own process group (start_new_session)
                proc.wait()


def serve_bare(port: int) -> int:
    from hozen import server

    return server.run("127.0.0.1", port, jobs=False, app="_bare_app:application")


# --- one backend ----------------------------------------------------------------------------------------

def measure(backend: str, args) -> dict:
    with scratch(backend, args.tmpdir) as s:
        print(f"{backend}: loading the demo and {args.count:,} designations…", flush=True)
        setup = run_worker(SCRIPT, "setup", s.env, {"count": args.count, "seed": args.seed}).data
        bearer = {"Authorization": f"Bearer {setup['token']}"}
        loads = {
            "bare": (["/bare/"], {}),
            "list": (["/api/v1/designations?limit=25"], bearer),
            "detail": ([f"/api/v1/designations/{pk}" for pk in setup["ids"]], bearer),
            "dashboard": (["/dashboard/"], {"Cookie": f"sessionid={setup['session']}"}),
        }
        rounds: list[dict] = []
        with servers(s.env, args.workers, args.threads, s.tmp) as ports:
            for r in range(args.rounds):
                this = {}
                for name, _, _ in TARGETS:
                    paths, headers = loads[name]
                    port = ports["bare" if name == "bare" else "hozen"]
                    res = run_worker(SCRIPT, "load", s.env, {"port": port, "paths": paths, "headers": headers,
                                                             "clients": args.clients, "warmup": 1.0,
                                                             "seconds": args.seconds}).data
                    res.pop("_maxrss_kib", None)
                    this[name] = res
                    bad = {k: v for k, v in res["statuses"].items() if k != "200"}
                    print(f"{backend} round {r + 1}: {name:9s} {fmt_rate(res['rate']):>6} req/s, "
                          f"p50 {fmt_ms(res['p50'])} ms, p99 {fmt_ms(res['p99'])} ms"
                          + (f", NOT 200: {bad}" if bad else ""), flush=True)
                rounds.append(this)
    return {"setup": setup, "rounds": rounds}


# --- the report ------------------------------------------------------------------------------------------

def render(args, argv, by_backend: dict[str, dict]) -> str:
    out = [
        "## Throughput through the production server (`benchmarks/throughput_bench.py`)",
        "",
        f"Command: `{command_line(SCRIPT, argv)}`  ",
        f"Date: {today()}",
        "",
        machine_facts({"server": f"gunicorn (`hozen.server.options`), {args.workers} workers × {args.threads} "
                                 "threads (gthread), access log on; Hozen by `hozen serve --no-jobs`",
                       "load": f"{args.clients} keep-alive clients for {args.seconds:g} s per target and round "
                               "(after 1 s of warm-up), one asyncio process on the same machine"}),
        "",
        f"{args.rounds} rounds; in each, every target in turn (bare view, list, detail, dashboard), so the "
        "machine's mood touches all alike. Per target: requests per second of each round, p50 and p99 latency "
        "(the worst round), the ratio to the bare view's requests per second in the same round (lowest–highest; "
        "the verdict takes the mean), and the SQL statements of one request (counted in-process). Targets "
        f"(issue 13 §5): list ≥ 35 %, audited detail ≥ 25 %, dashboard ≥ 25 % of the bare view, p99 under "
        f"{P99_TARGET_MS:.0f} ms, list at most {LIST_STATEMENTS_TARGET} statements.",
        "",
    ]
    for backend, res in by_backend.items():
        setup, rounds = res["setup"], res["rounds"]
        rows = []
        for name, label, target in TARGETS:
            rates = [r[name]["rate"] for r in rounds]
            p50 = max(r[name]["p50"] for r in rounds)
            p99 = max(r[name]["p99"] for r in rounds)
            errors = sum(v for r in rounds for k, v in r[name]["statuses"].items() if k != "200")
            stmts = setup["statements"].get(name, "")
            row = [label, " / ".join(fmt_rate(x) for x in rates), fmt_ms(p50), fmt_ms(p99)]
            if target is None:
                row += ["1", "", "(reference)"]
            else:
                ratios = [r[name]["rate"] / r["bare"]["rate"] for r in rounds]
                mean = sum(ratios) / len(ratios)
                ok = mean >= target and p99 * 1000 < P99_TARGET_MS and errors == 0
                if name == "list":
                    ok = ok and stmts <= LIST_STATEMENTS_TARGET
                row += [f"{min(ratios):.0%}–{max(ratios):.0%} (mean {mean:.0%})", str(stmts),
                        f"≥ {target:.0%}: {verdict(ok)}"]
            if errors:
                row[0] += f" — {errors} answers not 200"
            rows.append(row)
        cpu = max(r[n]["client_cpu"] for r in rounds for n, _, _ in TARGETS)
        out += [
            f"### {backend}",
            "",
            table(["target", "requests/s (each round)", "p50 ms", "p99 ms", "ratio to bare", "SQL statements",
                   "target"], rows),
            "",
            f"Data: the demo set and scenarios plus {args.count:,} bulk-loaded designations ("
            f"{setup['designations']:,} in all); `{MANAGER}` sees {setup['visible']:,} (the list's `total`). "
            f"The detail rotates over {len(setup['ids'])} of them. Setup took {setup['setup_s']:.0f} s. The load "
            f"process used up to {cpu:.0%} of one core.",
            "",
            "<details><summary>SQL statements of one request</summary>",
            "",
            "```",
        ]
        for name, statements in setup["sql"].items():
            out += [f"-- {name}: {len(statements)}"] + [f"{i + 1}. {q}" for i, q in enumerate(statements)]
        out += ["```", "</details>", ""]
    if args.notes:
        out += [Path(args.notes).read_text().strip(), ""]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    if worker_main(WORKERS, argv):
        return 0
    if argv[:1] == ["--serve-bare"]:
        return serve_bare(int(argv[1]))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", type=backends_arg, default="auto", help="sqlite, postgresql or auto (both if PG answers)")
    p.add_argument("--seconds", type=float, default=8.0, help="measured seconds per target and round (8)")
    p.add_argument("--rounds", type=int, default=2, help="rounds over every target (2)")
    p.add_argument("--clients", type=int, default=8, help="concurrent keep-alive connections (8)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers of each server (2)")
    p.add_argument("--threads", type=int, default=4, help="threads per worker (4, hozen serve's default)")
    p.add_argument("--count", type=int, default=600, help="designations bulk-loaded over METI and MIC (600)")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--rev", help="measure a snapshot of this commit's src/ (git archive) instead of the work tree")
    p.add_argument("--notes", metavar="FILE", help="a markdown file appended to the section")
    p.add_argument("--tmpdir", help="where the SQLite scratch folder goes")
    p.add_argument("--no-doc", action="store_true", help="print the section instead of writing docs/benchmarks.md")
    args = p.parse_args(argv)
    use_source(args.rev)
    by_backend = {backend: measure(backend, args) for backend in args.db}
    text = render(args, argv, by_backend)
    if args.no_doc:
        print(text)
    else:
        write_section(SECTION, text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
