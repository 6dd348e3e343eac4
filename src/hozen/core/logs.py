"""Logs an operator can use, with nothing a log must not hold (issue 13 §6).

`HOZEN_LOG_FORMAT=json` writes one JSON object per line: time, level, logger, the message, and for
requests the request id, method, path (never the query string), status, duration, channel and the
actor's role and organisation code (never a name, a user name, a token or a typed value). An
exception is logged as its type and its frames (file, line, function), never its message or the
values in it: a database error can quote the row it refused. `text` (the default) is the same
lines for a terminal (with whole tracebacks only under HOZEN_DEBUG, which production refuses).

Messages of Hozen's own loggers are written with that in mind (ids, codes, counts). Other
libraries' messages are passed through only from the loggers this module knows to be safe; the
others keep their level and logger name and lose the text (`"message": "(withheld)"`).
"""

from __future__ import annotations

import json
import logging
import re
import time
import traceback

#: Loggers whose messages never carry personal data or input (Hozen's own, and gunicorn's status).
SAFE_PREFIXES = ("hozen", "gunicorn.error", "django.db.backends.schema",
                 # "Not Found: /path", "Internal Server Error: /path": the path (its query cut below)
                 "django.request",
                 # The task worker's lines: task ids and the task's dotted path, never its arguments
                 "django_tasks_db")

#: The request attributes a log line may carry.
REQUEST_FIELDS = ("request_id", "method", "path", "status", "duration_ms", "channel", "role", "organisation")

request_log = logging.getLogger("hozen.request")


#: A query string in a message (gunicorn's error lines quote a request's URI): cut at the "?".
_QUERY = re.compile(r"(?<=\S)\?[^\s\"']+")


#: One-time link secrets in a path (password reset, enrolment after a reset, e-mail confirmation):
#: a log reader must not be able to use the link first.
_SECRET_SEGMENT = re.compile(r"(/(?:signin/reset|signin/enrol/link|profile/email/verify)/)[^/\s\"'?]+")


def redact(text: str) -> str:
    """A path or message without its query string and without one-time link secrets."""
    return _SECRET_SEGMENT.sub(r"\1…", _QUERY.sub("", text))


def _safe_message(record: logging.LogRecord) -> str:
    if record.name.startswith(SAFE_PREFIXES) or record.name == "hozen.request":
        return redact(record.getMessage())
    return "(withheld)"


def _frames(exc_info) -> list[str]:
    return [f"{frame.filename}:{frame.lineno} {frame.name}" for frame in traceback.extract_tb(exc_info[2])]


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": _safe_message(record),
        }
        for name in REQUEST_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                out[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            out["exception"] = {"type": record.exc_info[0].__name__, "frames": _frames(record.exc_info)}
        return json.dumps(out, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The same rules for a terminal: messages of unknown loggers withheld, exceptions as frames."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{n}={getattr(record, n)}" for n in REQUEST_FIELDS if getattr(record, n, None) is not None)
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(record.created))}Z {record.levelname} " \
               f"{record.name}: {_safe_message(record)}" + (f" {fields}" if fields else "")
        if record.exc_info and record.exc_info[0] is not None:
            from django.conf import settings

            if settings.DEBUG:  # a developer's own machine (refused in production): the whole trace
                return line + "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
            line += f"\n  {record.exc_info[0].__name__} at " + "\n  ".join(_frames(record.exc_info))
        return line


class RequestLogMiddleware:
    """One log line per request (INFO on `hozen.request`): what an operator needs to follow a request
    (its id is in the response's X-Request-ID and in every audit entry it wrote), nothing more."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        response = self.get_response(request)
        if request_log.isEnabledFor(logging.INFO):
            actor = getattr(request, "actor", None)
            assignment = getattr(actor, "assignment", None)
            request_log.info("request", extra={
                "request_id": getattr(request, "request_id", None),
                "method": request.method,
                "path": redact(request.path_info),
                "status": response.status_code,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
                "channel": getattr(actor, "channel", None),
                "role": getattr(assignment, "role", None),
                "organisation": getattr(getattr(assignment, "organisation", None), "code", None),
            })
        return response
