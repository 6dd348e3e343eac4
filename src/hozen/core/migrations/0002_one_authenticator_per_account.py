"""Integrity under concurrency (issue 11): one authenticator per account, in the database.

The second-factor services (``hozen.core.services``) keep, under the account's lock, at most one
confirmed TOTP device, at most one enrolment in progress (an unconfirmed device) and one set of
recovery codes (one static device) per account. These unique indexes hold the same in the
database, so no path that forgets the lock can give an account a second authenticator or a second
valid set of recovery codes:

- ``core_one_totp_device_per_state``: unique (user, confirmed) on django-otp's TOTP devices;
- ``core_one_recovery_device_per_account``: unique (user) on django-otp's static devices.

They sit on django-otp's tables, so they are plain SQL here (the same statement on SQLite and
PostgreSQL) rather than constraints in a model of ours. Before they are added, the existing rows
are checked: if any account breaks them, the migration stops with a message naming the accounts and
devices (nothing is changed), so an operator can settle them (an administrator's reset of the
second factor removes every device of an account) instead of meeting a bare database error.
"""

from django.db import migrations
from django.db.models import Count

INDEXES = {
    "core_one_totp_device_per_state": ("otp_totp", "TOTPDevice", ("user_id", "confirmed")),
    "core_one_recovery_device_per_account": ("otp_static", "StaticDevice", ("user_id",)),
}


class DataBreaksConstraint(Exception):
    """Existing rows break a constraint this migration adds: named, so they can be settled first."""


def _problems(apps, app_label: str, model_name: str, fields: tuple[str, ...]) -> list[str]:
    Account = apps.get_model("core", "Account")
    model = apps.get_model(app_label, model_name)
    names = [f.removesuffix("_id") for f in fields]
    groups = model.objects.values(*names).annotate(n=Count("id")).filter(n__gt=1).order_by(*names)
    problems = []
    for group in groups:
        ids = sorted(model.objects.filter(**{n: group[n] for n in names}).values_list("id", flat=True))
        username = Account.objects.filter(pk=group["user"]).values_list("username", flat=True).first()
        what = model._meta.verbose_name_plural
        if "confirmed" in group:
            what = f"{'confirmed' if group['confirmed'] else 'unconfirmed'} {what}"
        problems.append(f"account {username} (id {group['user']}) has {len(ids)} {what}: ids {ids}")
    return problems


def check_existing_rows(apps, schema_editor):
    problems = []
    for name, (app_label, model_name, fields) in INDEXES.items():
        problems += [f"{name}: {p}" for p in _problems(apps, app_label, model_name, fields)]
    if problems:
        raise DataBreaksConstraint(
            "Existing second-factor devices break the one-authenticator rule this migration adds; nothing "
            "was changed. Reset the second factor of each account named (`/admin/accounts/`), or keep one "
            "device of each kind, then migrate again:\n  " + "\n  ".join(problems))


def _statements(apps, schema_editor, create: bool) -> None:
    quote = schema_editor.quote_name
    for name, (app_label, model_name, fields) in INDEXES.items():
        table = apps.get_model(app_label, model_name)._meta.db_table
        if create:
            columns = ", ".join(quote(f) for f in fields)
            schema_editor.execute(f"CREATE UNIQUE INDEX {quote(name)} ON {quote(table)} ({columns})")
        else:
            schema_editor.execute(f"DROP INDEX IF EXISTS {quote(name)}")


def add_indexes(apps, schema_editor):
    _statements(apps, schema_editor, create=True)


def drop_indexes(apps, schema_editor):
    _statements(apps, schema_editor, create=False)


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0001_initial"),
        ("otp_static", "0003_add_timestamps"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [
        migrations.RunPython(check_existing_rows, migrations.RunPython.noop),
        migrations.RunPython(add_indexes, drop_indexes),
    ]
