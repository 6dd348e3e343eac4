"""Which copy did a found file come from? (`hozen vault trace FILE`, the trace screen and API.)

Three independent clues, strongest first:

1. the SHA-256 of the whole file equals the one recorded when a copy was delivered (untouched file);
2. the copy identifier in the XMP metadata or document information (survives page removal, not
   "print to PDF");
3. the invisible identifier on each page (survives page removal and metadata stripping).

Every trace is audited (``vault.copy.traced``) with the identifiers found, whether or not a copy
matched. A registry role only learns about the copies its custody scope covers.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from hozen import audit
from hozen.access import policy

from . import stamping
from .models import Copy


@dataclass
class Match:
    copy: Copy
    places: list[str] = field(default_factory=list)  # as `stamping` names them (English: the CLI's JSON)

    @property
    def place_labels(self) -> list[str]:
        """The places in the person's language, for the screen."""
        return [place_label(p) for p in self.places]


_PAGE = re.compile(r"page (\d+)")


def place_label(place: str) -> str:
    """One place where a copy's identifier was found, as `stamping` names it (``page 3``, ``XMP
    metadata``, ``report.pdf: page 2``, ...), in the active language. A file name inside a ZIP is
    kept as it is; an unknown name is shown as given."""
    member, sep, rest = place.rpartition(": ")
    if not sep:
        member, rest = "", place
    fixed = {"whole file (SHA-256)": _("the whole file (SHA-256)"), "document information": _("document information"),
             "XMP metadata": _("XMP metadata"), "ZIP comment": _("ZIP comment")}
    page = _PAGE.fullmatch(rest)
    label = str(_("page %(number)s") % {"number": page.group(1)}) if page else str(fixed.get(rest, rest))
    return f"{member}: {label}" if member else label


@dataclass
class TraceResult:
    sha256: str
    kind: str
    pages: int | None
    matches: list[Match]
    unknown_tokens: list[str]

    @property
    def found(self) -> bool:
        return bool(self.matches)


def trace(*, actor, data: bytes) -> TraceResult:
    policy.require(actor, "vault.copy.trace")
    digest = hashlib.sha256(data).hexdigest()
    evidence = stamping.find_identifiers(data)
    visible = Copy.objects.select_related("version__document__designation__organisation")
    if not (actor.is_system and actor.channel == "cli"):
        # A registry learns only about copies its own custody records cover (the same scope).
        visible = visible.filter(policy.scope(actor, "vault.custody.view", Copy))
    matches: dict[int, Match] = {}
    for copy in visible.filter(delivered_sha256=digest):
        matches.setdefault(copy.pk, Match(copy)).places.append("whole file (SHA-256)")
    by_token = {c.token: c for c in visible.filter(token__in=list(evidence.tokens))}
    unknown = []
    for token, places in evidence.tokens.items():
        copy = by_token.get(token)
        if copy is None:
            unknown.append(token)
            continue
        matches.setdefault(copy.pk, Match(copy)).places.extend(places)
    result = TraceResult(sha256=digest, kind=evidence.kind, pages=evidence.pages,
                         matches=sorted(matches.values(), key=lambda m: m.copy.pk), unknown_tokens=unknown)
    audit.record(actor, "vault.copy.traced", None, details={
        "sha256": digest, "copies": [m.copy.pk for m in result.matches], "tokens_found": len(evidence.tokens)})
    return result
