# ruff: noqa: F811  (fixtures imported below and then requested by name)
"""Logs an operator can use (issue 13 §6): with HOZEN_LOG_FORMAT=json every request is one JSON line
with its id, method, path, status, duration and the actor's role — and nothing of a person. A
journey plants names, answers, a password, a token and searched-for words; none of them is in the
logs, not even when a request fails with them in the error's message."""

from __future__ import annotations

import io
import json
import logging
import urllib.parse

import pytest
from django.test import Client

from hozen.core.logs import JsonFormatter, TextFormatter
from tests import factories
from tests.api.test_assessment_api import api, ok, subject_code  # noqa: F401  (fixture)
from tests.assessment.conftest import (  # noqa: F401  (fixtures)
    _frozen_today,
    _packs,
    answers,
    nominate,
    to_consented,
    world,
)

pytestmark = pytest.mark.django_db

PLANTED_ADDRESS = "東京都千代田区霞が関9-9-9 秘匿マンション"
PLANTED_RELATIVE = "秘匿 花子"
PLANTED_PASSWORD = "Planted-Passw0rd-Typed-As-Name"
PLANTED_SEARCH = "送電網防護計画の秘匿語"


@pytest.fixture
def captured():
    """Every log record of the run, formatted as the JSON and the text formatter write them."""
    stream_json, stream_text = io.StringIO(), io.StringIO()
    handlers = [logging.StreamHandler(stream_json), logging.StreamHandler(stream_text)]
    handlers[0].setFormatter(JsonFormatter())
    handlers[1].setFormatter(TextFormatter())
    root, request_log = logging.getLogger(), logging.getLogger("hozen.request")
    old_level, old_request_level = root.level, request_log.level
    for h in handlers:
        root.addHandler(h)
    root.setLevel(logging.INFO)
    request_log.setLevel(logging.INFO)
    yield stream_json, stream_text
    for h in handlers:
        root.removeHandler(h)
    root.setLevel(old_level)
    request_log.setLevel(old_request_level)


def test_a_journeys_logs_hold_no_planted_name_answer_password_token_or_search(world, api, captured, monkeypatch):
    case = to_consented(world, nominate(world))
    subject = api(world.people["subject"])
    content = answers()
    content["identity"]["current_address"] = PLANTED_ADDRESS
    content["relatives_and_cohabitants"]["relatives"][0]["name"] = PLANTED_RELATIVE
    for section, section_answers in content.items():
        ok(subject.put(f"/cases/{case.pk}/questionnaire/{section}", {"content": section_answers}, if_match='"0"'))
    ok(subject.post(f"/cases/{case.pk}/questionnaire/submit"))
    token = subject.headers["HTTP_AUTHORIZATION"].split()[1]
    # A search with protected words in its query string, on the API and on a screen.
    words = urllib.parse.quote(PLANTED_SEARCH)
    client = Client(raise_request_exception=False)
    client.get(f"/api/v1/designations?q={words}", **api("security").headers)
    # A password typed into the user-name field, and a failed sign-in.
    client.post("/signin/", {"username": PLANTED_PASSWORD, "password": PLANTED_PASSWORD})
    # A request that fails with a person's data in the error's message.
    import hozen.api.core

    def boom(request):
        raise ValueError(f"row refused: {PLANTED_RELATIVE}, {PLANTED_ADDRESS}")

    monkeypatch.setattr(hozen.api.core, "_me", boom)
    failing = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")

    json_logs, text_logs = captured[0].getvalue(), captured[1].getvalue()
    lines = [json.loads(line) for line in json_logs.splitlines()]
    requests = [line for line in lines if line["logger"] == "hozen.request"]
    assert requests, json_logs[:2000]
    put = next(r for r in requests if r["method"] == "PUT")
    assert set(put) >= {"request_id", "method", "path", "status", "duration_ms", "role", "channel"}
    assert put["role"] == "subject" and put["status"] == 200 and "?" not in put["path"]
    for planted in (PLANTED_ADDRESS, PLANTED_RELATIVE, PLANTED_PASSWORD, PLANTED_SEARCH, words, token,
                    world.people["subject"].person.full_name):
        assert planted not in json_logs, planted
        assert planted not in text_logs, planted
    # The failure is logged: its type and frames, never its message.
    assert failing.status_code == 500
    assert any(line.get("exception", {}).get("type") == "ValueError" for line in lines), json_logs[-2000:]


def test_a_library_logger_message_is_withheld_and_an_exception_is_only_its_frames():
    try:
        raise ValueError(f"duplicate key value ({PLANTED_RELATIVE})")
    except ValueError:
        import sys

        record = logging.LogRecord("django.db.backends", logging.ERROR, __file__, 1,
                                   "query failed for %s", (PLANTED_ADDRESS,), sys.exc_info())
    out = json.loads(JsonFormatter().format(record))
    assert out["message"] == "(withheld)" and out["exception"]["type"] == "ValueError"
    assert PLANTED_RELATIVE not in json.dumps(out, ensure_ascii=False)
    assert PLANTED_ADDRESS not in TextFormatter().format(record)


def test_djangos_request_lines_keep_their_path_without_the_query():
    from urllib.parse import quote

    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Not Found: %s",
                               (f"/designations/?q={quote(PLANTED_RELATIVE)}",), None)
    out = json.loads(JsonFormatter().format(record))
    assert out["message"] == "Not Found: /designations/"
    assert PLANTED_RELATIVE not in TextFormatter().format(record)


def test_an_unknown_log_format_is_refused_naming_the_setting(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOZEN_", "DJANGO_"))}
    env.update(HOZEN_LOG_FORMAT="xml", HOZEN_DATA_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "hozen.cli", "check"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0 and "HOZEN_LOG_FORMAT must be text or json" in done.stderr


def test_each_request_line_names_its_request_id(client, captured, people):
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {factories.api_token(people['auditor'])}")
    [line] = [json.loads(x) for x in captured[0].getvalue().splitlines() if '"hozen.request"' in x]
    assert line["request_id"] == response["X-Request-ID"] and line["path"] == "/api/v1/me"
    assert line["role"] == "auditor" and line["organisation"]


def test_a_query_string_in_a_servers_message_is_cut():
    """gunicorn's error lines quote a request's URI ("Error handling request GET /x?q=…")."""
    words = urllib.parse.quote(PLANTED_SEARCH)
    record = logging.LogRecord("gunicorn.error", logging.ERROR, __file__, 1, "Error handling request %s %s",
                               ("GET", f"/designations/?q={words}"), None)
    for formatter in (JsonFormatter(), TextFormatter()):
        line = formatter.format(record)
        assert "/designations/" in line and words not in line and "?q=" not in line


@pytest.mark.parametrize("path", ["/signin/reset/{s}/", "/signin/enrol/link/{s}/", "/profile/email/verify/{s}/"])
def test_one_time_link_secrets_never_reach_the_logs(path):
    from hozen.core.logs import redact
    from hozen.server import GunicornLogger

    secret = "Zq3-secret_value-9x"
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Not Found: %s",
                               (path.format(s=secret),), None)
    assert secret not in JsonFormatter().format(record) and secret not in TextFormatter().format(record)
    assert redact(path.format(s=secret)) == path.format(s="…")

    class Cfg:  # what gunicorn's Logger.atoms reads
        access_log_format = ""
    logger = GunicornLogger.__new__(GunicornLogger)
    logger.cfg = Cfg()
    environ = {"RAW_URI": path.format(s=secret), "PATH_INFO": path.format(s=secret), "QUERY_STRING": "",
               "REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1"}

    class Req:
        headers = []

    class Resp:
        status = "200 OK"
        response_length = 0
        sent = 0
        headers = []
    import datetime as dt

    atoms = logger.atoms(Resp(), Req(), environ, dt.timedelta(milliseconds=5))
    assert secret not in atoms["U"]
