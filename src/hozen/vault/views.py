"""The vault's screens: a designation's documents, upload, view, download, custody, open items, trace.

Thin views: reads through ``queries`` (a document someone has no need to know about is 404, the
same as a missing one, and the attempt is audited), writes through ``services``. Views and
downloads are POST forms: each one creates a numbered copy, so no link on another site can make
copies in someone's name.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hozen.access import policy
from hozen.core.errors import NotFound, RuleViolation
from hozen.core.roles import Role

from . import queries, services
from . import trace as tracing
from .forms import DestroyForm, MediumForm, ReceivedForm, TraceForm, TransferForm, UploadForm, VersionForm
from .models import Copy

#: Navigation entries per role (hozen.core.extensions).
_DOCS = (gettext_lazy("Documents"), "vault:index")
_OPEN = (gettext_lazy("Copies held"), "vault:open_items")
_TRACE = (gettext_lazy("Trace a copy"), "vault:trace")
NAV: dict = {
    Role.ESI_MANAGER: [_DOCS, _OPEN, _TRACE],
    Role.SECURITY_OFFICER: [_DOCS, _OPEN, _TRACE],
    Role.ORGAN_HEAD: [_DOCS, _OPEN, _TRACE],
    Role.BUSINESS_OFFICER: [_DOCS, _OPEN, _TRACE],
}


def nav_entries(actor) -> list:
    """The vault for an assessed person only when it can serve them (issue 15 §10): they are on a
    handler list, or still hold a copy to return. Anyone else in that role sees no vault link."""
    from django.db.models import Exists

    from hozen.core.models import Account
    from hozen.handling.queries import my_entries

    if actor.role != Role.SUBJECT or actor.account is None:
        return []
    # One statement on every page of the person's: on a list, or holding a copy?
    serves = (Account.objects.filter(pk=actor.account.pk)
              .annotate(listed=Exists(my_entries(actor).filter(ended_at__isnull=True)),
                        holding=Exists(queries.open_items_for(actor)))
              .values_list("listed", "holding").first())
    return [_DOCS, _OPEN] if serves and any(serves) else []


def _language(request) -> str:
    return getattr(request, "LANGUAGE_CODE", "ja")


def _file_response(delivery, *, inline: bool) -> FileResponse:
    response = FileResponse(delivery.file, content_type=delivery.content_type, as_attachment=not inline,
                            filename=delivery.filename)
    response["Content-Length"] = str(delivery.size)
    response["X-Hozen-Copy"] = str(delivery.copy.number)
    response["X-Content-Type-Options"] = "nosniff"
    if delivery.content_type == "application/pdf":
        # The site-wide CSP's object-src 'none' would stop the browser's own PDF viewer from
        # showing the copy; this response is a PDF and nothing else, so it gets a CSP of its own.
        response["Content-Security-Policy"] = "default-src 'none'; object-src 'self'; frame-ancestors 'none'"
    return response


# --- documents -----------------------------------------------------------------------------------

@login_required
@require_GET
def index(request):
    """The designations whose material the actor may handle, and the documents filed under them."""
    designations = queries.designations_for(request.actor)
    documents = list(queries.documents_for(request.actor))
    return render(request, "vault/index.html", {"designations": designations, "documents": documents})


@login_required
@require_GET
def designation_documents(request, pk):
    designation = queries.designation_for_material(request.actor, pk)
    actor = request.actor
    return render(request, "vault/documents.html", {
        "d": designation,
        "documents": queries.documents_of(designation),
        "marking": services.current_marking(designation),
        "can_upload": policy.decide(actor, "vault.document.upload", designation).allowed,
        "can_see_custody": policy.decide(actor, "vault.custody.view", designation).allowed,
    })


@login_required
@require_http_methods(["GET", "POST"])
def upload(request, pk):
    designation = queries.designation_for_upload(request.actor, pk)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        file = form.cleaned_data["file"]
        try:
            version = services.upload(actor=request.actor, designation=designation, title=form.cleaned_data["title"],
                                      source=file, filename=file.name, content_type=file.content_type,
                                      declared_size=file.size)
        except RuleViolation as exc:
            form.add_violation(exc, _language(request))
        else:
            messages.success(request, _("The document was stored encrypted."))
            return redirect("vault:document", pk=version.document_id)
    return render(request, "vault/upload.html", {"d": designation, "form": form,
                                                 "max_bytes": services.max_bytes()}, status=422 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def document(request, pk):
    doc = queries.document_for(request.actor, pk)
    actor = request.actor
    can_upload = policy.decide(actor, "vault.document.upload", doc.designation).allowed
    form = VersionForm(request.POST or None, request.FILES or None) if can_upload else None
    if request.method == "POST":
        if form is None:
            policy.require(actor, "vault.document.upload", doc.designation)
        elif form.is_valid():
            file = form.cleaned_data["file"]
            try:
                services.upload(actor=actor, document=doc, source=file, filename=file.name,
                                content_type=file.content_type, declared_size=file.size)
            except RuleViolation as exc:
                form.add_violation(exc, _language(request))
            else:
                messages.success(request, _("The new version was stored encrypted."))
                return redirect("vault:document", pk=doc.pk)
    return render(request, "vault/document.html", {
        "doc": doc, "d": doc.designation, "versions": queries.versions_of(doc),
        "marking": services.current_marking(doc.designation), "form": form,
        "received_form": ReceivedForm(prefix="received") if policy.decide(
            actor, "vault.medium.record", doc).allowed else None,
        "my_copies": queries.open_items_for(actor).filter(version__document=doc),
    }, status=422 if form is not None and form.errors else 200)


def _deliver(request, pk, kind: str):
    doc = queries.document_for(request.actor, pk)
    version = queries.version_for(request.actor, doc, request.POST.get("version"))
    try:
        delivery = services.deliver(actor=request.actor, version=version, kind=kind)
    except RuleViolation as exc:
        messages.error(request, exc.message(_language(request)))
        return redirect("vault:document", pk=doc.pk)
    return _file_response(delivery, inline=kind == Copy.Kind.VIEW)


@login_required
@require_POST
def view(request, pk):
    """The marked, stamped PDF shown in the browser: a copy like any other, numbered and audited."""
    return _deliver(request, pk, Copy.Kind.VIEW)


@login_required
@require_POST
def download(request, pk):
    return _deliver(request, pk, Copy.Kind.DOWNLOAD)


@login_required
@require_POST
def received(request, pk):
    """A physical medium of this document received from outside."""
    doc = queries.document_for(request.actor, pk)
    form = ReceivedForm(request.POST, prefix="received")
    if form.is_valid():
        try:
            copy = services.record_medium(actor=request.actor, document=doc, medium=form.cleaned_data["medium"],
                                          received_from=form.cleaned_data["received_from"])
        except RuleViolation as exc:
            messages.error(request, exc.message(_language(request)))
        else:
            messages.success(request, _("The medium was recorded as copy %(number)s.") % {"number": copy.number})
            return redirect("vault:copy", pk=copy.pk)
    else:
        messages.error(request, _("Name the medium and who it came from."))
    return redirect("vault:document", pk=doc.pk)


# --- custody -------------------------------------------------------------------------------------

@login_required
@require_GET
def custody(request, pk):
    """Every copy of a designation's material with its events (the holding organ's registry)."""
    designation = queries.designation_for_custody(request.actor, pk)
    return render(request, "vault/custody.html", {
        "d": designation, "copies": queries.custody_of(request.actor, designation),
        "counts": queries.custody_counts(designation)})


@login_required
@require_GET
def open_items(request):
    """Copies not yet returned or destroyed: the actor's own, and for the registry its organ's."""
    return render(request, "vault/open_items.html", {"copies": queries.open_items_for(request.actor)})


def _copy_context(request, copy, **forms):
    actor = request.actor
    can = {action: policy.decide(actor, f"vault.copy.{action}", copy).allowed
           for action in ("return", "destroy", "transfer")}
    can["medium"] = policy.decide(actor, "vault.medium.record", copy).allowed
    return {"copy": copy, "events": queries.events_of(copy), "can": can,
            "transfer_form": forms.get("transfer") or TransferForm(prefix="transfer"),
            "destroy_form": forms.get("destroy") or DestroyForm(prefix="destroy"),
            "medium_form": forms.get("medium") or MediumForm(prefix="medium")}


@login_required
@require_http_methods(["GET", "POST"])
def copy_detail(request, pk):
    copy = queries.copy_for(request.actor, pk)
    if request.method == "GET":
        return render(request, "vault/copy.html", _copy_context(request, copy))
    action = request.POST.get("action")
    actor = request.actor
    forms_: dict = {}
    try:
        if action == "return":
            services.return_copy(actor=actor, copy=copy)
            messages.success(request, _("The copy was recorded as returned."))
            return redirect("vault:copy", pk=copy.pk)
        if action == "transfer":
            form = forms_["transfer"] = TransferForm(request.POST, prefix="transfer")
            if form.is_valid():
                services.transfer(actor=actor, copy=copy, to=form.cleaned_data["to"])
                messages.success(request, _("The copy was recorded as handed over."))
                return redirect("vault:copy", pk=copy.pk)
        elif action == "destroy":
            form = forms_["destroy"] = DestroyForm(request.POST, prefix="destroy")
            response = _destroy(request, copy, form)
            if response is not None:
                return response
        elif action == "medium":
            form = forms_["medium"] = MediumForm(request.POST, prefix="medium")
            if form.is_valid():
                medium = services.record_medium(actor=actor, parent=copy, medium=form.cleaned_data["medium"])
                messages.success(request, _("The medium was recorded as copy %(number)s.") % {"number": medium.number})
                return redirect("vault:copy", pk=medium.pk)
        else:
            messages.error(request, _("Choose what to record."))
    except RuleViolation as exc:
        target = forms_.get(action)
        if target is not None:
            target.add_violation(exc, _language(request))
        else:
            messages.error(request, exc.message(_language(request)))
    copy = queries.copy_for(actor, pk)
    return render(request, "vault/copy.html", _copy_context(request, copy, **forms_), status=422)


def _destroy(request, copy, form):
    """Recording a destruction takes two steps (issue 15 "review before final"): it cannot be undone.
    The form's POST (``step=review``) checks the form and every rule of the service, writing
    nothing, and shows the review page — the copy, the method, the witness, who records it and when
    — with "Confirm" and "Go back to edit" (``step=edit``: the form again, as typed). Confirm
    (``step=confirm``) records it through the service with the review's token
    (``services.destruction_review_token``): if the copy changed since the review (destroyed,
    returned or handed over in another window), nothing is recorded and the copy is shown as it is
    now, with the reason (409). None: the form goes back with its errors (422)."""
    step = request.POST.get("step", "review")
    if step == "edit":
        return render(request, "vault/copy.html", _copy_context(request, copy, destroy=form))
    if not form.is_valid():
        return None
    actor, witness, method = request.actor, form.cleaned_data["witness"], form.cleaned_data["method"]
    if step != "confirm":
        # The rules' own messages before the review, not after the confirmation.
        review = services.check_destruction(actor=actor, copy=copy, witness=witness, method=method)
        return render(request, "vault/destroy_review.html", {
            "copy": copy, "form": form, "method": review.method, "witness": review.witness,
            "reviewed": review.reviewed, "recorded_by": actor.account, "today": timezone.localdate()})
    try:
        services.destroy_copy(actor=actor, copy=copy, witness=witness, method=method,
                              reviewed=request.POST.get("reviewed", ""))
    except RuleViolation as exc:
        if exc.code != "changed_since_review":
            raise
        messages.error(request, exc.message(_language(request)))
        try:
            copy = queries.copy_for(actor, copy.pk)  # as it is now
        except NotFound:
            return redirect("vault:open_items")
        return render(request, "vault/copy.html", _copy_context(request, copy, destroy=form), status=409)
    messages.success(request, _("The copy was recorded as destroyed."))
    return redirect("vault:copy", pk=copy.pk)


@login_required
@require_http_methods(["GET", "POST"])
def trace(request):
    """Upload a found file; the answer names the copy it came from."""
    policy.require(request.actor, "vault.copy.trace")
    form = TraceForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data["file"].read(services.max_bytes() + 1)
        result = tracing.trace(actor=request.actor, data=data)
    return render(request, "vault/trace.html", {"form": form, "result": result})
