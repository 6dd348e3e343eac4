"""Complete translations, enforced on the pages themselves (issue 15: no English-only page, no raw
code shown to a person): every demo role's pages, reached by following the links of its dashboard
and of the pages those lead to, render in Japanese (the default) without a run of English words in
the text a person reads. Attributes, code, hashes and the English half of the language switch are
not text a person reads as prose.
"""

from __future__ import annotations

import html
import re
from collections import deque
from urllib.parse import urlsplit

import pytest
from django.test import Client

from hozen.core import demo
from hozen.core.actor import Actor

pytestmark = pytest.mark.django_db

#: Three or more English words in a row: a sentence or a label left untranslated.
ENGLISH_RUN = re.compile(r"\b[A-Za-z][a-z]+(?:[ \-][A-Za-z][a-z]+){2,}\b")
#: Elements whose text is not prose for a person to read in their language.
NOT_PROSE = re.compile(r"<(script|style|code|pre|kbd|samp|textarea|option)\b.*?</\1>", re.S | re.I)
SKIP_PATHS = ("/signout", "/static/", "/api/", "/language/", "/role/")
PAGES_PER_ROLE = 40


def _prose(page: str) -> str:
    body = page[page.find("<body"):]
    body = NOT_PROSE.sub(" ", body)
    body = re.sub(r'<[^>]+lang="en"[^>]*>.*?</[a-z]+>', " ", body, flags=re.S)  # marked as English on purpose
    body = re.sub(r"<[^>]+>", " ", body)
    return html.unescape(body)


def _links(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="(/[^"#]*)"', page)]


def _crawl(client: Client) -> dict[str, list[str]]:
    seen, found = set(), {}
    queue = deque(["/dashboard/"])
    while queue and len(seen) < PAGES_PER_ROLE:
        path = queue.popleft()
        if path in seen or path.startswith(SKIP_PATHS) or re.search(r"\.(pdf|csv|zip)$|/(download|export|pdf|csv)/", path):
            continue
        seen.add(path)
        response = client.get(path)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        page = response.content.decode()
        runs = sorted(set(ENGLISH_RUN.findall(_prose(page))))
        if runs:
            found[urlsplit(path).path] = runs
        queue.extend(link for link in _links(page) if link not in seen)
    return found


@pytest.fixture
def demo_world(db):
    demo.load(actor=Actor.operator("tests"))
    demo.load_scenarios(actor=Actor.operator("tests"))


@pytest.mark.parametrize("username", [row[0] for row in demo.ACCOUNTS])
def test_every_page_a_role_reaches_reads_in_japanese(demo_world, username):
    client = Client()
    assert client.post("/signin/", {"username": username, "password": demo.DEMO_PASSWORD}).status_code == 302
    client.post("/signin/verify/", {"token": demo.current_code(username)})
    found = _crawl(client)
    assert not found, "\n".join(f"{path}: {runs}" for path, runs in found.items())
