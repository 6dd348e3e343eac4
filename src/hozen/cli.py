"""The `hozen` command line. Thin: parses arguments, calls services and queries, prints.

Errors exit non-zero with one readable line on stderr (ARCHITECTURE rule 7):
exit 1 for a refused or failed operation, exit 2 for bad usage.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hozen.settings")
    import django

    django.setup()


class CliError(Exception):
    """One readable line for the operator."""


def _print_json(rows) -> None:
    print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))


def _table(headers: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(*headers, show_lines=False)
    for row in rows:
        table.add_row(*[str(c) for c in row])
    Console().print(table)


# --- commands ----------------------------------------------------------------------------------------

def cmd_migrate(args) -> int:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1 if args.verbose else 0)
    return 0


def cmd_demo(args) -> int:
    from django.conf import settings
    from django.core.management import call_command

    from hozen.core import demo
    from hozen.core.actor import Actor
    from hozen.crypto.kek import create_keyring_file
    from hozen.crypto.provider import kek_file

    print("Preparing the database…", flush=True)
    if not os.environ.get("HOZEN_KEK") and not kek_file().exists():
        from hozen.crypto.kek import KeyManagementError
        from hozen.crypto.provider import wrapped_keys_held

        try:
            held = wrapped_keys_held()
        except KeyManagementError as exc:
            raise CliError(str(exc)) from None
        if held:  # a database restored without its keyring: never a second keyring over it
            raise CliError(f"{kek_file()} does not exist, and the database holds {held} key(s) wrapped by a "
                           "keyring: restore the keyring that belongs to this database")
        kek_file().parent.mkdir(parents=True, exist_ok=True)
        create_keyring_file(kek_file())
        print(f"Created the key-encryption keyring {kek_file()} (mode 0600).")
    call_command("migrate", interactive=False, verbosity=0)
    created = demo.load(actor=Actor.operator("demo"))
    scenarios = demo.load_scenarios(actor=Actor.operator("demo"))
    port = args.port or os.environ.get("PORT", "8000")
    url = f"http://127.0.0.1:{port}/"
    print(f"Demo data: {created['organisations']} organisations and {created['accounts']} accounts created "
          f"(existing ones kept). Database: {settings.DATABASES['default']['NAME']}")
    print(f"Demo scenarios: {scenarios['accounts']} more accounts, {scenarios['certifications']} certification, "
          f"{scenarios['contracts']} contract, {scenarios['designations']} designations and "
          f"{scenarios['assessment_cases']} assessment cases created (existing ones kept): METI designations "
          "(designated, a draft awaiting approval, extended, provided to TOWA-HI); assessments of subject.towa "
          "(notice to read and consent), subject2.meti (under investigation by investigator.cao) and "
          "engineer.towa (notified favourable, with a clearance).")
    print()
    print(f"Open {url}  (Japanese by default; the English switch is in the header)")
    print(f"Every demo account's password: {demo.DEMO_PASSWORD}")
    print("Officials confirm with a TOTP code: add the secret to an authenticator app, or type the current code shown.")
    print()
    rows = []
    for username, role, org, *_ in demo.LOGINS:
        if role == "subject":
            rows.append([role, username, org, "-", "(optional for the assessed person)"])
        else:
            rows.append([role, username, org, demo.demo_totp_secret_b32(username), demo.current_code(username)])
    # Plain columns, never truncated, so secrets can be copied from any terminal width.
    headers = ["role", "user name", "organisation", "TOTP secret (base32)", "code now"]
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    for r in [headers, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    print("Run `hozen demo-codes` for fresh codes (they change every 30 seconds).")
    return 0


def cmd_demo_codes(args) -> int:
    from hozen.core import demo

    for username, role, *_ in demo.LOGINS:
        if role != "subject":
            print(f"{username:20} {demo.current_code(username)}")
    return 0


def cmd_serve(args) -> int:
    from django.conf import settings
    from django.core.management import call_command

    from hozen import server

    port = str(args.port or os.environ.get("PORT", "8000"))
    if not port.isdigit():
        raise CliError(f"PORT must be a number, got {port!r}")
    _preflight()  # before the jobs or the server start: a failing check stops here, naming itself
    if settings.PRODUCTION:
        # whitenoise serves the hashed, compressed files collectstatic writes: built before the start.
        call_command("collectstatic", interactive=False, verbosity=0)
    try:
        server.options(args.host, int(port))
    except ValueError as exc:
        raise CliError(str(exc)) from None
    print(f"Hozen at http://{args.host}:{port}/ (gunicorn; SIGHUP reloads, Ctrl-C stops)", flush=True)
    return server.run(args.host, int(port), jobs=not args.no_jobs)


def cmd_jobs_run(args) -> int:
    from hozen.core import jobs

    for job in jobs.registered():
        # Now, whatever the interval, but never beside a run of the same job on another worker.
        result = jobs.run_leased(job, force=True)
        print(f"{job.name}: " + ("skipped: running on another worker" if result is jobs.NOT_RUN else f"{result}"))
    return 0


def cmd_jobs_list(args) -> int:
    from hozen.core import jobs
    from hozen.core.models import JobLease

    leases = {lease.name: lease for lease in JobLease.objects.all()}
    rows = []
    for j in jobs.registered():
        lease = leases.get(j.name)
        rows.append({"name": j.name, "every_seconds": j.every_seconds, "lease_seconds": j.lease_seconds,
                     "running_on": lease.holder if lease and lease.leased_until else None,
                     "last_started_at": lease.last_started_at if lease else None,
                     "last_finished_at": lease.last_finished_at if lease else None,
                     "last_outcome": (lease.last_outcome or None) if lease else None})
    if args.json:
        _print_json(rows)
    else:
        for r in rows:
            last = f"{r['last_started_at']:%Y-%m-%d %H:%M:%S} UTC ({r['last_outcome'] or 'running'})" \
                if r["last_started_at"] else "never"
            running = f", running on {r['running_on']}" if r["running_on"] else ""
            print(f"{r['name']:30} every {r['every_seconds']} s, last {last}{running}")
    return 0


def cmd_jobs_worker(args) -> int:
    """The periodic jobs (a thread) and the task queue (this thread) until SIGTERM or Ctrl-C; the job
    or task in hand finishes first."""
    import signal
    import threading

    from hozen.core import jobs, tasks

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    periodic = threading.Thread(target=jobs.worker, args=(stop,), kwargs={"tick_seconds": args.tick},
                                name="hozen-periodic-jobs")
    periodic.start()
    print(f"running {len(jobs.registered())} periodic jobs and the task queue; Ctrl-C stops", flush=True)
    try:
        tasks.work(stop, interval=args.poll)
    finally:
        stop.set()
        periodic.join()
    print("worker stopped.")
    return 0


def cmd_tasks_status(args) -> int:
    from hozen.core import tasks

    summary = tasks.queue_summary()
    if args.json:
        _print_json(summary)
        return 0
    oldest = "" if summary["oldest_ready_seconds"] is None else f" (oldest waiting {summary['oldest_ready_seconds']} s)"
    print(f"ready {summary['ready']}{oldest}, running {summary['running']}, "
          f"succeeded {summary['successful']}, failed {summary['failed']}")
    print("task workers: " + (", ".join(summary["workers"]) or "none running"))
    return 0


def cmd_tasks_run(args) -> int:
    from hozen.core import tasks

    ran = tasks.run_ready(limit=args.limit, wid=tasks.worker_id(), heartbeat=True)
    print(f"ran {ran} task(s)")
    return 0


def _organisation(code: str):
    from hozen.core.models import Organisation

    try:
        return Organisation.objects.get(code=code)
    except Organisation.DoesNotExist:
        raise CliError(f"no organisation with code {code!r} (see `hozen organisations list`)") from None


def cmd_users_create(args) -> int:
    from hozen.core import services
    from hozen.core.actor import Actor

    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            raise CliError("--password-stdin given but standard input had no password")
    family, _, given = (args.name or args.username).partition(" ")
    family_kana, _, given_kana = (args.kana or "").partition(" ")
    born = None
    if args.date_of_birth:
        try:
            born = dt.date.fromisoformat(args.date_of_birth)
        except ValueError:
            raise CliError(f"--date-of-birth must be YYYY-MM-DD, got {args.date_of_birth!r}") from None
    account = services.create_account(
        actor=Actor.operator("users create"), username=args.username, family_name=family, given_name=given,
        family_name_kana=family_kana, given_name_kana=given_kana, date_of_birth=born, role=args.role,
        organisation=_organisation(args.organisation), password=password, email=args.email or "",
    )
    print(f"created {account.username} ({args.role}@{args.organisation})"
          + ("" if password else "; no password set: they cannot sign in until one is set"))
    return 0


def cmd_users_list(args) -> int:
    from hozen.core import queries
    from hozen.core.actor import Actor

    actor = Actor.operator("users list")
    from hozen.access import policy

    policy.require(actor, "account.list")
    rows = [
        {
            "username": a.username,
            "name": a.person.full_name,
            "kana": a.person.full_name_kana,
            "active": a.is_active,
            "roles": [f"{r.role}@{r.organisation.code}" for r in a.active_roles],
        }
        for a in queries.accounts_for(actor)
    ]
    if args.json:
        _print_json(rows)
    else:
        _table(["user name", "name", "roles"], [[r["username"], r["name"], ", ".join(r["roles"])] for r in rows])
    return 0


def cmd_tokens_create(args) -> int:
    from hozen.core import services
    from hozen.core.actor import Actor
    from hozen.core.models import Account

    try:
        account = Account.objects.get(username=args.username)
    except Account.DoesNotExist:
        raise CliError(f"no account {args.username!r} (see `hozen users list`)") from None
    assignment = None
    if args.role:
        role, _, org = args.role.partition("@")
        assignment = account.active_assignments().filter(role=role, organisation__code=org).first()
        if assignment is None:
            raise CliError(f"{args.username} does not hold the role {args.role!r}")
    print(services.create_api_token(actor=Actor.operator("tokens create"), account=account, assignment=assignment,
                                    label=args.label or "", days=args.days))
    return 0


def cmd_tokens_list(args) -> int:
    from hozen.core.actor import Actor
    from hozen.core.models import Account, ApiToken
    from hozen.core.queries import tokens_for

    if args.username:
        try:
            tokens = tokens_for(Actor.operator("tokens list"), Account.objects.get(username=args.username))
        except Account.DoesNotExist:
            raise CliError(f"no account {args.username!r} (see `hozen users list`)") from None
    else:
        tokens = list(ApiToken.objects.select_related("account", "assignment__organisation")
                      .order_by("account__username", "-created_at"))
    rows = [{"token": f"hz_{t.prefix}", "account": t.account.username, "label": t.label,
             "role": f"{t.assignment.role}@{t.assignment.organisation.code}", "created_at": t.created_at,
             "last_used_at": t.last_used_at, "expires_at": t.expires_at, "state": t.state} for t in tokens]
    if args.json:
        _print_json(rows)
        return 0
    for r in rows:
        used = f"{r['last_used_at']:%Y-%m-%d}" if r["last_used_at"] else "never used"
        print(f"{r['token']:16} {r['account']:20} {r['role']:28} {r['state']:8} ends {r['expires_at']:%Y-%m-%d}, "
              f"{used}{'  ' + r['label'] if r['label'] else ''}")
    if not rows:
        print("no API tokens")
    return 0


def cmd_tokens_revoke(args) -> int:
    from hozen.core import services
    from hozen.core.actor import Actor
    from hozen.core.models import ApiToken

    prefix = args.token.removeprefix("hz_").split("_", 1)[0]
    token = ApiToken.objects.filter(prefix=prefix).first()
    if token is None:
        raise CliError(f"no API token {args.token!r} (see `hozen tokens list`)")
    services.revoke_api_token(actor=Actor.operator("tokens revoke"), token=token)
    print(f"revoked hz_{token.prefix}")
    return 0


def cmd_users_revoke_role(args) -> int:
    """End one role of an account (audited `role.revoked`); its sessions and tokens stop acting in it."""
    from hozen.core import services
    from hozen.core.actor import Actor
    from hozen.core.models import Account

    try:
        account = Account.objects.get(username=args.username)
    except Account.DoesNotExist:
        raise CliError(f"no account {args.username!r} (see `hozen users list`)") from None
    role, _, org = args.role.partition("@")
    if not role or not org:
        raise CliError(f"--role must be ROLE@ORG, e.g. security_officer@METI, got {args.role!r}")
    assignment = account.role_assignments.filter(role=role, organisation__code=org).order_by("-id").first()
    if assignment is None:
        raise CliError(f"{args.username} has never held the role {args.role!r}")
    services.revoke_role(actor=Actor.operator("users revoke-role"), assignment=assignment.pk)
    print(f"revoked {args.role} of {args.username}")
    return 0


def cmd_users_set_password(args) -> int:
    """Set a password from the first line of stdin (never an argument: it would stay in the shell's
    history and the process list). Audited `password.set`; the account's sessions end."""
    from hozen.core import services
    from hozen.core.actor import Actor
    from hozen.core.models import Account

    try:
        account = Account.objects.get(username=args.username)
    except Account.DoesNotExist:
        raise CliError(f"no account {args.username!r} (see `hozen users list`)") from None
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise CliError("give the new password on the first line of standard input")
    services.set_password(actor=Actor.operator("users set-password"), account=account, password=password)
    print(f"password of {account.username} set; their sessions have ended")
    return 0


def cmd_users_unlock(args) -> int:
    from hozen.core import services
    from hozen.core.actor import Actor

    cleared = services.unlock_sign_in(actor=Actor.operator("users unlock"), username=args.username)
    print(f"unlocked {args.username.strip().lower()} ({cleared} failed sign-in(s) cleared)")
    return 0


def cmd_organisations_list(args) -> int:
    from hozen.access import policy
    from hozen.core import queries
    from hozen.core.actor import Actor

    actor = Actor.operator("organisations list")
    policy.require(actor, "organisation.list")
    rows = [{"code": o.code, "kind": o.kind, "name_ja": o.name_ja, "name_en": o.name_en}
            for o in queries.organisations_for(actor)]
    if args.json:
        _print_json(rows)
    else:
        _table(["code", "kind", "name (ja)", "name (en)"], [list(r.values()) for r in rows])
    return 0


def cmd_organisations_create(args) -> int:
    from hozen.core import services
    from hozen.core.actor import Actor

    org = services.create_organisation(actor=Actor.operator("organisations create"), code=args.code,
                                       kind=args.kind, name_ja=args.name_ja, name_en=args.name_en)
    print(f"created {org.code}")
    return 0


def cmd_check(args) -> int:
    """System checks, database reachability and unapplied migrations, as one verdict."""
    _preflight()
    print("ok: configuration, database and migrations")
    return 0


def _preflight() -> None:
    """What `hozen check` checks; `hozen serve` runs it before anything starts (issue 13 §1)."""
    from django.core import checks
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    try:
        connection.ensure_connection()
    except Exception as exc:
        raise CliError(f"database unreachable: {exc}") from None
    issues = [i for i in checks.run_checks(include_deployment_checks=bool(os.environ.get("HOZEN_PRODUCTION")),
                                          databases=["default"])
              if i.level >= checks.WARNING and not i.is_silenced()]
    for issue in issues:
        # Each failing check with its id, its text and what to do.
        print(f"{issue.id}: {issue.msg}" + (f"\n  hint: {issue.hint}" if issue.hint else ""), file=sys.stderr)
    if issues:
        raise CliError(f"{len(issues)} check(s) failed (listed above)")
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        raise CliError(f"{len(pending)} database migrations are not applied; run `hozen migrate`")


def cmd_backup(args) -> int:
    from pathlib import Path

    from hozen.backup import BackupError, backup

    try:
        outcome = backup(Path(args.dir), keyring_to=Path(args.keyring_to) if args.keyring_to else None)
    except BackupError as exc:
        raise CliError(str(exc)) from None
    for line in outcome.lines:
        print(line)
    print(f"ok: backup written to {Path(args.dir).resolve()}")
    return 0


def cmd_restore(args) -> int:
    from pathlib import Path

    from hozen.backup import BackupError, restore

    pinned = Path(args.key).read_text().strip() if args.key else None
    try:
        outcome = restore(Path(args.dir), force=args.force, pinned_key=pinned,
                          registers=[Path(p) for p in args.shred_register] or None)
    except BackupError as exc:
        raise CliError(str(exc)) from None
    for line in outcome.lines:
        print(line)
    print("ok: restored and checked")
    return 0


#: Django commands that would change credentials without an audit entry: Hozen's own commands instead.
UNAUDITED_COMMANDS = {"changepassword": "hozen users set-password USERNAME",
                      "createsuperuser": "hozen users create USERNAME --role sysadmin --organisation CODE",
                      "axes_reset": "hozen users unlock USERNAME",
                      "axes_reset_username": "hozen users unlock USERNAME",
                      "axes_reset_ip": "hozen users unlock USERNAME"}


def cmd_manage(args) -> int:
    from django.core.management import execute_from_command_line

    if args.rest and args.rest[0] in UNAUDITED_COMMANDS:
        raise CliError(f"`hozen manage {args.rest[0]}` would change credentials without an audit entry: use "
                       f"`{UNAUDITED_COMMANDS[args.rest[0]]}`")
    execute_from_command_line(["hozen manage", *args.rest])
    return 0


# --- parser --------------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hozen", description="Hozen (保全): ESI clearance regime, command line.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("demo", help="migrate, load the demo data set and print demo logins")
    s.add_argument("--port", type=int)
    s.set_defaults(func=cmd_demo)
    sub.add_parser("demo-codes", help="print the current TOTP codes of the demo accounts").set_defaults(func=cmd_demo_codes)

    s = sub.add_parser("serve", help="serve Hozen on 127.0.0.1 (PORT, default 8000)")
    s.add_argument("--port", type=int)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--no-jobs", action="store_true", help="do not start a jobs worker beside the server")
    s.set_defaults(func=cmd_serve)

    jobs_p = sub.add_parser("jobs", help="periodic background jobs").add_subparsers(
        dest="jobs_command", required=True, metavar="ACTION")
    s = jobs_p.add_parser("list", help="list the registered jobs")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_jobs_list)
    jobs_p.add_parser("run", help="run every job once (for cron)").set_defaults(func=cmd_jobs_run)
    s = jobs_p.add_parser("worker", help="run the periodic jobs and the task queue until stopped")
    s.add_argument("--tick", type=float, default=15.0, help="seconds between checks for due periodic jobs")
    s.add_argument("--poll", type=float, default=1.0, help="seconds between looks at an empty task queue")
    s.set_defaults(func=cmd_jobs_worker)

    tasks_p = sub.add_parser("tasks", help="the queue of work that follows requests").add_subparsers(
        dest="tasks_command", required=True, metavar="ACTION")
    s = tasks_p.add_parser("status", help="tasks by status, the oldest waiting, the live workers")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_tasks_status)
    s = tasks_p.add_parser("run", help="run the ready tasks in this process, then stop")
    s.add_argument("--limit", type=int, default=1000, help="at most this many tasks")
    s.set_defaults(func=cmd_tasks_run)

    s = sub.add_parser("migrate", help="apply database migrations")
    s.add_argument("-v", "--verbose", action="store_true")
    s.set_defaults(func=cmd_migrate)
    sub.add_parser("check", help="check configuration, database and migrations").set_defaults(func=cmd_check)

    s = sub.add_parser("backup", help="write a consistent, signed backup to a new folder")
    s.add_argument("dir")
    s.add_argument("--keyring-to", metavar="PATH", help="also copy the keyring file here (outside the backup)")
    s.set_defaults(func=cmd_backup)
    s = sub.add_parser("restore", help="restore a backup, shred again what was shredded since, and check")
    s.add_argument("dir")
    s.add_argument("--force", action="store_true", help="replace a database that is not empty")
    s.add_argument("--key", metavar="VKEY_FILE", help="the audit verifier key the backup must be signed with")
    s.add_argument("--shred-register", action="append", default=[], metavar="FILE",
                   help="a shred register to apply (default: HOZEN_SHRED_REGISTER); repeat for several servers'")
    s.set_defaults(func=cmd_restore)

    users = sub.add_parser("users", help="accounts").add_subparsers(dest="users_command", required=True, metavar="ACTION")
    s = users.add_parser("create", help="create a person, their account and a role")
    s.add_argument("username")
    s.add_argument("--role", required=True)
    s.add_argument("--organisation", required=True, metavar="CODE")
    s.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    s.add_argument("--name", help='family and given name, e.g. "山田 太郎"')
    s.add_argument("--kana", help='reading in katakana, e.g. "ヤマダ タロウ"')
    s.add_argument("--date-of-birth", metavar="YYYY-MM-DD")
    s.add_argument("--email")
    s.set_defaults(func=cmd_users_create)
    s = users.add_parser("list", help="list accounts")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_users_list)
    s = users.add_parser("revoke-role", help="end one role of an account (audited)")
    s.add_argument("username")
    s.add_argument("--role", required=True, metavar="ROLE@ORG")
    s.set_defaults(func=cmd_users_revoke_role)
    s = users.add_parser("set-password", help="set an account's password from stdin (audited; sessions end)")
    s.add_argument("username")
    s.set_defaults(func=cmd_users_set_password)
    s = users.add_parser("unlock", help="lift a sign-in lock-out before it ends (audited)")
    s.add_argument("username")
    s.set_defaults(func=cmd_users_unlock)

    tokens = sub.add_parser("tokens", help="API tokens").add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    s = tokens.add_parser("create", help="create an API token and print it (only once)")
    s.add_argument("username")
    s.add_argument("--role", metavar="ROLE@ORG", help="the role the token acts in (default: the account's first)")
    s.add_argument("--label")
    s.add_argument("--days", type=int, help="days until it ends (default HOZEN_API_TOKEN_DAYS, 90; at most 366)")
    s.set_defaults(func=cmd_tokens_create)
    s = tokens.add_parser("list", help="API tokens with their role, last use, end and state")
    s.add_argument("username", nargs="?", help="only this account's")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_tokens_list)
    s = tokens.add_parser("revoke", help="end an API token now (audited)")
    s.add_argument("token", metavar="hz_PREFIX", help="the token's prefix as `tokens list` shows it (or the whole token)")
    s.set_defaults(func=cmd_tokens_revoke)

    orgs = sub.add_parser("organisations", help="organisations").add_subparsers(dest="org_command", required=True, metavar="ACTION")
    s = orgs.add_parser("list", help="list organisations")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_organisations_list)
    s = orgs.add_parser("create", help="create an organisation")
    s.add_argument("code")
    s.add_argument("--kind", required=True)
    s.add_argument("--name-ja", required=True)
    s.add_argument("--name-en", required=True)
    s.set_defaults(func=cmd_organisations_create)

    # Each app adds its own command group: `hozen audit ...`, `hozen keys ...`, `hozen rules ...`,
    # `hozen designations ...`.
    from hozen.assessment.cli import register as register_assessment
    from hozen.audit.cli import register as register_audit
    from hozen.crypto.cli import register as register_keys
    from hozen.designation.cli import register as register_designations
    from hozen.handling.cli import register as register_handling
    from hozen.rules.cli import register as register_rules
    from hozen.vault.cli import register as register_vault

    register_audit(sub)
    register_keys(sub)
    register_rules(sub)
    register_designations(sub)
    register_assessment(sub)
    register_handling(sub)
    register_vault(sub)

    s = sub.add_parser("manage", help="run a Django management command", add_help=False)
    s.add_argument("rest", nargs=argparse.REMAINDER)
    s.set_defaults(func=cmd_manage)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _setup()
        from django.core.exceptions import ImproperlyConfigured
        from django.core.management.base import CommandError
        from django.db import DatabaseError

        from hozen.access.policy import PolicyDenied
        from hozen.core.errors import RuleViolation

        try:
            return args.func(args)
        except PolicyDenied as exc:
            from hozen.access.policy import audit_unrecorded_denial

            audit_unrecorded_denial(exc.actor, exc)  # raised inside a rolled-back service: record it now
            print(f"hozen: refused: {exc.decision.reason_en}", file=sys.stderr)
            return 1
        except RuleViolation as exc:
            print(f"hozen: error: {exc.message_en}", file=sys.stderr)
            return 1
        except (CliError, CommandError, DatabaseError) as exc:
            print(f"hozen: error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", file=sys.stderr)
            return 1
        except ImproperlyConfigured as exc:
            print(f"hozen: configuration error: {exc}", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # configuration errors raised while Django starts
        from django.core.exceptions import ImproperlyConfigured

        if isinstance(exc, ImproperlyConfigured):
            print(f"hozen: configuration error: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
