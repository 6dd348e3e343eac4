"""`hozen serve`: Hozen under gunicorn (issue 13 §1), with the periodic jobs in their own process.

- **Workers** from the core count (``HOZEN_WORKERS``, default 2 × cores + 1), each with
  ``HOZEN_THREADS`` threads (default 4, gthread); ``HOZEN_REQUEST_TIMEOUT`` seconds (default 60)
  before a stuck worker is replaced; 30 seconds for a graceful stop.
- **Graceful reload** on SIGHUP (gunicorn's master starts new workers, then lets the old ones
  finish); SIGTERM stops after the requests in flight.
- **Access log** on stderr without query strings: the path only (a query can hold the words of a
  protected title searched for), with status, size, duration and the request id.
- **Static files** are served by whitenoise from the workers; in production ``hozen serve`` builds
  them (``collectstatic``, hashed and compressed) before the server starts.
- **Jobs** run in a separate ``hozen jobs worker`` process started beside the server (``--no-jobs``
  when workers run elsewhere); its leases make any number of them safe (hozen.core.jobs).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

#: The access log line: client, method and path (never the query string), status, bytes,
#: milliseconds, request id.
ACCESS_LOG_FORMAT = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s'


def _gunicorn_logger_class():
    from gunicorn.glogging import Logger

    class GunicornLogger(Logger):
        """gunicorn's error log through Hozen's formatter: its messages can quote a request's URI."""

        def setup(self, cfg):
            super().setup(cfg)
            from hozen.core.logs import JsonFormatter, TextFormatter

            json_logs = os.environ.get("HOZEN_LOG_FORMAT", "").strip().lower() == "json"
            for handler in self.error_log.handlers:
                handler.setFormatter(JsonFormatter() if json_logs else TextFormatter())

        def atoms(self, resp, req, environ, request_time):
            """The access line's path without one-time link secrets (hozen.core.logs.redact)."""
            from hozen.core.logs import redact

            atoms = super().atoms(resp, req, environ, request_time)
            atoms["U"] = redact(atoms.get("U", ""))
            return atoms

    return GunicornLogger


def __getattr__(name: str):
    if name == "GunicornLogger":  # imported lazily: gunicorn is loaded only by `hozen serve`
        return _gunicorn_logger_class()
    raise AttributeError(name)


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name} must be a positive whole number, got {raw!r}")
    return int(raw)


def options(host: str, port: int) -> dict:
    """gunicorn's settings for one `hozen serve`."""
    cores = os.cpu_count() or 1
    json_logs = os.environ.get("HOZEN_LOG_FORMAT", "").strip().lower() == "json"
    return {
        "bind": f"{host}:{port}",
        "workers": _int_env("HOZEN_WORKERS", 2 * cores + 1),
        "worker_class": "gthread",
        "threads": _int_env("HOZEN_THREADS", 4),
        "timeout": _int_env("HOZEN_REQUEST_TIMEOUT", 60),
        "graceful_timeout": 30,
        "keepalive": 5,
        # In JSON, Hozen's own request log (hozen.core.logs) replaces the access log; gunicorn's own
        # messages always go through Hozen's formatter (query strings cut, exceptions as frames).
        "accesslog": None if json_logs else "-",
        "errorlog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "logger_class": "hozen.server.GunicornLogger",
        "forwarded_allow_ips": os.environ.get("HOZEN_FORWARDED_ALLOW_IPS", "127.0.0.1"),
        "proc_name": "hozen",
        # No control socket under $HOME: not used, and two servers on one machine would share it.
        "control_socket_disable": True,
    }


def run(host: str, port: int, *, jobs: bool = True, app: str = "hozen.wsgi:application") -> int:
    """Serve until stopped; the jobs worker (if any) is stopped with the server. `app` is another
    WSGI application to serve with exactly this configuration (the throughput benchmark's bare
    Django view, measured beside Hozen under the same server)."""
    from gunicorn.app.base import BaseApplication

    class Hozen(BaseApplication):
        def __init__(self, settings: dict):
            self.settings = settings
            super().__init__()

        def load_config(self):
            for key, value in self.settings.items():
                self.cfg.set(key, value)

        def load(self):
            from gunicorn.util import import_app

            return import_app(app)  # "hozen.wsgi:application", as `gunicorn hozen.wsgi` names it

    stopping = threading.Event()
    current: list[subprocess.Popen] = []

    def start_worker() -> None:
        current[:] = [subprocess.Popen([sys.executable, "-m", "hozen.cli", "jobs", "worker"])]

    def supervise() -> None:
        # The jobs include retention shredding and the log's checkpoints: a worker that dies is
        # started again (its lease expires and it takes its jobs back), and the restart is logged.
        while not stopping.wait(2):
            if current and current[0].poll() is not None:
                print(f"hozen: the jobs worker stopped (exit {current[0].returncode}); starting it again",
                      file=sys.stderr, flush=True)
                start_worker()

    if jobs:
        start_worker()
        threading.Thread(target=supervise, name="hozen-jobs-supervisor", daemon=True).start()
    try:
        Hozen(options(host, port)).run()
    finally:
        stopping.set()
        for worker in current:
            if worker.poll() is None:
                worker.send_signal(signal.SIGINT)  # the worker finishes its job and stops
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
    return 0
