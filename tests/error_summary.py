"""Reading the error summary (issue 15, GOV.UK pattern) out of a rendered page, for the tests of
every form that shows one: the summaries on the page, what each lists and where its links go."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Summary:
    id: str
    attrs: dict
    items: list[str] = field(default_factory=list)  # the text of each problem, in order
    links: list[str] = field(default_factory=list)  # the ids the linked problems go to, in order


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: Counter[str] = Counter()
        self.summaries: list[Summary] = []
        self._depth = 0  # open <div>s inside the summary being read (0: outside any)
        self._item: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids[attrs["id"]] += 1
        if self._depth:
            if tag == "div":
                self._depth += 1
            elif tag == "li":
                self._item = []
            elif tag == "a" and (attrs.get("href") or "").startswith("#"):
                self.summaries[-1].links.append(attrs["href"][1:])
        elif "data-error-summary" in attrs:
            self.summaries.append(Summary(id=attrs.get("id", ""), attrs=attrs))
            self._depth = 1

    def handle_endtag(self, tag):
        if not self._depth:
            return
        if tag == "li" and self._item is not None:
            self.summaries[-1].items.append(" ".join("".join(self._item).split()))
            self._item = None
        elif tag == "div":
            self._depth -= 1

    def handle_data(self, data):
        if self._item is not None:
            self._item.append(data)


def read(html: str) -> tuple[list[Summary], Counter]:
    """The page's error summaries and how many times each id occurs in it."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.summaries, reader.ids


def one_summary(html: str, *, problems: int) -> Summary:
    """The page's only error summary, after checking it the way issue 15 asks: it is focusable and
    announced, names ``problems`` problems, and every link goes to an element of the page (once)."""
    summaries, ids = read(html)
    assert len(summaries) == 1, [s.id for s in summaries]
    summary = summaries[0]
    assert summary.attrs.get("role") == "alert" and summary.attrs.get("tabindex") == "-1"
    assert summary.id and ids[summary.id] == 1
    assert len(summary.items) == problems, summary.items
    for target in summary.links:
        assert ids[target] == 1, f"the summary links to #{target}, which the page has {ids[target]} times"
    return summary
