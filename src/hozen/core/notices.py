"""E-mail notices that carry nothing sensitive (issue 14 §6).

A notice tells a person only that something in Hozen waits for them, and links to the page where
it is: never a title, a result, a case number or a name (the link names a section of Hozen, not a
record). Services call ``queue(account, kind, page)`` inside their own transaction; the notice goes
through the task queue (``hozen.core.tasks``) and Django's e-mail framework, so a request never
waits for a mail server and a notice is sent exactly when the change that caused it committed.

The task sends only to a verified address (``Account.email_verified_at``), only if the person keeps
that kind on (``Account.notice_preferences``), in the person's language.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from django_tasks import task


@dataclass(frozen=True)
class Kind:
    code: str
    label: object  # lazy text: the preference's label on the profile


#: Every kind of notice a person can keep on or turn off (all on by default).
KINDS = {k.code: k for k in (
    Kind("consent_awaited", _("A notice of an aptitude assessment awaits your decision on consent")),
    Kind("questionnaire_reminder", _("Reminders about your questionnaire")),
    Kind("result_to_read", _("A result awaits you")),
    Kind("complaint_answered", _("Your complaint was answered")),
    Kind("briefing_due", _("A briefing on handling duties is due")),
    Kind("handler_entry_ending", _("Your place on a handler list has ended")),
    Kind("review_due", _("A designation review is due")),
    Kind("draft_decision", _("A draft designation waits for approval or was sent back")),
    Kind("certification_changed", _("The organ took a measure on your certification or a contract")),
)}

#: Pages a notice may link to: sections of Hozen, never a record's own address.
PAGES = {"dashboard": "core:dashboard", "portal": "assessment:portal_home", "designations": "designation:list",
         "profile": "core:profile"}


def wants(account, kind: str) -> bool:
    return bool((account.notice_preferences or {}).get(kind, True))


def queue(account, kind: str, page: str = "dashboard") -> None:
    """Queue notice `kind` for `account` in the caller's transaction (nothing is sent if it rolls back)."""
    from . import tasks

    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    if page not in PAGES:
        raise ValueError(f"unknown notice page {page!r}")
    if not account.email or account.email_verified_at is None or not wants(account, kind):
        return  # nothing to send: checked again when the task runs
    tasks.enqueue(send_notice, account.pk, kind, page)


def queue_for_person(person_id: int, kind: str, page: str = "dashboard") -> None:
    """`queue` for every active account of a person (an assessed person's notices)."""
    from .models import Account

    for account in Account.objects.filter(person_id=person_id, is_active=True):
        queue(account, kind, page)


def queue_for_role(role: str, organisation_ids, kind: str, page: str = "dashboard") -> None:
    """`queue` for every active account holding `role` in one of the organisations (once each)."""
    from .models import Account

    for account in Account.objects.filter(is_active=True, role_assignments__role=role,
                                          role_assignments__revoked_at__isnull=True,
                                          role_assignments__organisation_id__in=list(organisation_ids)).distinct():
        queue(account, kind, page)


def _link(name: str, *args) -> str:
    from django.conf import settings
    from django.urls import reverse

    return settings.HOZEN_BASE_URL + reverse(name, args=args)


def _message(account, subject_key: str, body_key: str, link: str):
    from django.conf import settings
    from django.core.mail import EmailMessage
    from django.template.loader import render_to_string
    from django.utils import translation

    with translation.override(account.language or "ja"):
        subject = render_to_string(f"core/email/{subject_key}.txt", {}).strip()
        body = render_to_string(f"core/email/{body_key}.txt", {"link": link})
    return EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[account.email])


@task()
def send_notice(account_id: int, kind: str, page: str) -> str:
    """Send one notice, if the person still has a verified address and keeps the kind on."""
    from .models import Account

    account = Account.objects.filter(pk=account_id, is_active=True).first()
    if account is None or not account.email or account.email_verified_at is None:
        return "no_verified_address"
    if not wants(account, kind):
        return "turned_off"
    _message(account, "notice_subject", "notice_body", _link(PAGES[page])).send()
    return "sent"


@task()
def send_verification(verification_id: int) -> str:
    """Make the verification link's secret and send it to the address being proved: the secret
    exists only in the e-mail (its hash is stored). Run again, it makes a new one (the earlier mail's
    link then no longer works)."""
    import secrets

    from django.db import transaction

    from .models import EmailVerification
    from .rows import lock
    from .services import hash_token_secret

    with transaction.atomic():
        verification = lock(EmailVerification, verification_id, related=("account",))
        if not verification.usable:
            return "withdrawn"
        secret = secrets.token_urlsafe(32)
        verification.secret_hash = hash_token_secret(secret)
        verification.save(update_fields=["secret_hash"])
        message = _message(verification.account, "verify_subject", "verify_body",
                           _link("core:verify_email", secret))
        message.to = [verification.address]
        message.send()  # inside: a failure to send leaves the old hash, and the task is marked failed
    return "sent"
