"""Rules-pack screens (DOMAIN §9): the published versions, one version's values and taxonomy
with their "to verify" and "awaiting confirmation" flags, and publishing a new version from an
uploaded file. The CLI (`hozen rules ...`) does the same from the shell.

Reading: every role holder (packs are statutory figures and a public taxonomy). Publishing: the
policy's `rules_pack.publish` (the Cabinet Office's organ head; never the system administrator,
see hozen/access/rules/rules_packs.py); a wrong role gets 403 with the policy's reason.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from hozen.access import policy
from hozen.core.errors import RuleViolation

from . import loader, queries, services
from .forms import PublishForm
from .labels import value_label
from .models import describe_value
from .pack_texts import note


@login_required
@require_GET
def pack_list(request):
    policy.require(request.actor, "rules_pack.view")
    rows = [queries.summary(p) for p in queries.packs_for(request.actor).prefetch_related("categories", "sub_items")]
    return render(request, "rules/list.html", {
        "rows": rows, "can_publish": policy.decide(request.actor, "rules_pack.publish").allowed})


@login_required
@require_GET
def pack_detail(request, code, version):
    policy.require(request.actor, "rules_pack.view")
    pack = queries.pack_for_actor(request.actor, code, version)
    data = queries.summary(pack)
    language = request.LANGUAGE_CODE
    values = []
    for key, entry in data["values"].items():
        value = loader.to_python(key, entry["value"])
        shown = note(entry["source"])  # a shipped note with its legal source, not the internal rulebook's
        values.append({"key": key, "label": value_label(key), "text": describe_value(value, entry.get("unit"), False, language),
                       "to_verify": entry["to_verify"], "source": _(shown),
                       # A note of a later pack not in the catalogue yet is shown as written (English).
                       "source_untranslated": language != "en" and _(shown) == shown})
    return render(request, "rules/detail.html", {
        "pack": pack, "data": data, "values": values,
        "to_verify_count": sum(1 for v in values if v["to_verify"]),
        "awaiting_count": sum(1 for s in data["sub_items"] if s["status"] != "confirmed"),
    })


@login_required
@require_http_methods(["GET", "POST"])
def publish(request):
    """Upload a pack file: "Check" validates it (nothing written), "Publish" stores it as a new
    version (audited). Every problem of a bad file is listed with its line."""
    policy.require(request.actor, "rules_pack.publish")
    form = PublishForm(request.POST, request.FILES) if request.method == "POST" else PublishForm()
    problems, checked = [], None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if request.POST.get("action") == "check":
                checked = loader.load(upload["text"], upload["name"])
            else:
                pack = services.publish_pack(actor=request.actor, source_text=upload["text"],
                                             filename=upload["name"])
                messages.success(request, _("%(pack)s was published; it takes effect on %(date)s.") % {
                    "pack": pack, "date": pack.effective_from.isoformat()})
                return redirect("rules:detail", code=pack.code, version=pack.version)
        except loader.PackError as exc:
            problems = exc.lines(request.LANGUAGE_CODE)
        except RuleViolation as exc:
            form.add_error(None, exc.message(request.LANGUAGE_CODE))
    return render(request, "rules/publish.html", {"form": form, "problems": problems, "checked": checked})
