"""Idempotent writes: ``Idempotency-Key`` on every API POST (issue 12 §5).

A client that may have to send a POST again (a timeout, a dropped connection) sends a key of its
choosing (a UUID, say) in ``Idempotency-Key``. The same key from the same account with the same
request within 24 hours:

- while the first request runs: 409 ``idempotency_key_in_progress`` with ``Retry-After: 1``;
- once it has answered: that answer again, status, body and headers (``Idempotent-Replayed:
  true``), and nothing is done or written again;
- with another body (or path, role or If-Match): 422 ``idempotency_key_reused``, nothing done.

How it holds under concurrency: the operation's work starts only after the caller has taken the
one row for (account, key) (``core.IdempotencyRecord``, a unique constraint) in its own committed
transaction, before the service's own transaction; a second request inserting the same row waits
for that commit (PostgreSQL) or the write lock (SQLite) and then finds it. Every answer of an
operation that ran is kept, refusals included: the same request gets the same answer. An answer
that is a file (a vault copy) is not kept: a second request with the key is told so (409
``idempotency_replay_unavailable``) and no second copy is made.

A request that failed before its operation ran (authentication, input that does not parse) takes
no row: sending it again with the key runs it. Keys are kept as a keyed hash (HMAC with the
server's secret), answers encrypted under a key derived from the Idempotency-Key, and both are
deleted by the hourly job ``core.idempotency_expiry`` after 24 hours.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from hozen.core.models import IdempotencyRecord
from hozen.crypto import envelope

from .errors import ApiError

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
#: Visible ASCII, 1 to 255 characters (an RFC 8941 string without quotes or spaces).
KEY_PATTERN = re.compile(r"[!-~]{1,255}")
#: Headers of an answer kept and replayed with its body.
_KEPT_HEADERS = ("Content-Type", "ETag", "Location", "Content-Disposition", "Retry-After", "X-Total-Count")
_ATTRIBUTE = "_hozen_idempotency"

DESCRIPTION = (
    "Optional. A key of your choosing (1–255 visible ASCII characters; a UUID is a good one). If this POST "
    "is sent again with the same key and the same body within 24 hours, the first answer is given again "
    "(`Idempotent-Replayed: true`) and nothing is done twice; the same key with another body is 422 "
    "`idempotency_key_reused`; while the first request still runs, 409 `idempotency_key_in_progress` "
    "(retry after `Retry-After`). An answer that is a file is not kept: a repeat is 409 "
    "`idempotency_replay_unavailable`."
)


def _digest(account_id: int, key: str) -> str:
    return salted_hmac("hozen.api.idempotency.key", f"{account_id}:{key}", algorithm="sha256").hexdigest()


def _answer_key(account_id: int, key: str) -> bytes:
    return salted_hmac("hozen.api.idempotency.answer", f"{account_id}:{key}", algorithm="sha256").digest()


def _aad(record: IdempotencyRecord) -> bytes:
    return envelope.aad_for(f"core.idempotencyrecord:{record.account_id}", record.key_digest)


def _canonical_body(request: HttpRequest) -> bytes:
    """The request body as its meaning: JSON re-serialised (key order and spacing do not matter), a
    form as its fields and its files' contents (a multipart boundary differs on every send)."""
    content_type = (request.content_type or "").lower()
    if content_type.startswith("multipart/") or content_type == "application/x-www-form-urlencoded":
        files = []
        for name in sorted(request.FILES):
            for upload in request.FILES.getlist(name):
                digest = hashlib.sha256()
                for chunk in upload.chunks():
                    digest.update(chunk)
                upload.seek(0)
                files.append([name, upload.name, digest.hexdigest()])
        fields = sorted((name, request.POST.getlist(name)) for name in request.POST)
        return json.dumps({"fields": fields, "files": files}, sort_keys=True).encode()
    if request.body:
        try:
            return json.dumps(json.loads(request.body), sort_keys=True, separators=(",", ":")).encode()
        except ValueError:
            return bytes(request.body)
    return b""


def _fingerprint(request: HttpRequest) -> str:
    """What makes two requests "the same request": method, path and query, the role acted in, the
    version named, and the body."""
    digest = hashlib.sha256()
    for part in (request.method, request.path_info, request.META.get("QUERY_STRING", ""),
                 request.headers.get("X-Hozen-Role", ""), request.headers.get("If-Match", "")):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\x00")
    digest.update(_canonical_body(request))
    return digest.hexdigest()


def _refusal(status: int, code: str, ja: str, en: str, **extra) -> ApiError:
    return ApiError(status, code, ja, en, field=HEADER, **extra)


def _replay(record: IdempotencyRecord, key: str) -> HttpResponse:
    if record.response is None:
        raise _refusal(409, "idempotency_replay_unavailable",
                       "このキーの最初のリクエストはファイルを返したため、再送できません。新しいキーで要求してください。",
                       "The first request with this key answered with a file, which is not kept: ask again "
                       "with a new key.")
    try:
        plain = envelope.decrypt(_answer_key(record.account_id, key), bytes(record.response), _aad(record))
    except envelope.CryptoError:
        raise _refusal(409, "idempotency_replay_unavailable",
                       "このキーの最初の応答を復元できません。新しいキーで要求してください。",
                       "The first answer to this key cannot be restored: ask again with a new key.") from None
    head, _, body = plain.partition(b"\n")
    response = HttpResponse(body, status=record.status)
    for name, value in json.loads(head).items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def begin(request: HttpRequest) -> IdempotencyRecord | HttpResponse | None:
    """Take the key for this request (its row), or the first answer to replay; None without a key."""
    key = request.headers.get(HEADER)
    account = getattr(getattr(request, "actor", None), "account", None)
    if key is None or account is None or request.method != "POST":
        return None
    if not KEY_PATTERN.fullmatch(key):
        raise _refusal(422, "invalid_idempotency_key",
                       "Idempotency-Key は 1〜255 文字の表示可能な ASCII 文字で指定してください。",
                       "Idempotency-Key must be 1 to 255 visible ASCII characters.")
    digest, fingerprint = _digest(account.pk, key), _fingerprint(request)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(account=account, key_digest=digest, fingerprint=fingerprint)
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(account=account, key_digest=digest).first()
        if existing is None:
            continue  # expired and deleted between the two statements: take it afresh
        if existing.created_at < timezone.now() - IdempotencyRecord.LIFETIME:
            IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.fingerprint != fingerprint:
            raise _refusal(422, "idempotency_key_reused",
                           "この Idempotency-Key は別の内容のリクエストに使われています。新しいキーを使ってください。",
                           "This Idempotency-Key was used for a different request: use a new key.")
        if existing.status is None:
            raise _refusal(409, "idempotency_key_in_progress",
                           "同じ Idempotency-Key のリクエストを処理中です。しばらくしてから再送してください。",
                           "A request with this Idempotency-Key is still running: send it again shortly.",
                           retry_after=1)
        return _replay(existing, key)
    raise _refusal(409, "idempotency_key_in_progress",
                   "同じ Idempotency-Key のリクエストを処理中です。しばらくしてから再送してください。",
                   "A request with this Idempotency-Key is still running: send it again shortly.", retry_after=1)


def finish(request: HttpRequest, record: IdempotencyRecord, response) -> None:
    """Keep the answer of the request that took `record` (a file answer: its status only)."""
    stored = None
    if not getattr(response, "streaming", False):
        headers = {name: response[name] for name in _KEPT_HEADERS if response.has_header(name)}
        headers.update({name: value for name, value in response.items() if name.lower().startswith("x-hozen-")})
        plain = json.dumps(headers).encode() + b"\n" + bytes(response.content)
        stored = bytes(envelope.encrypt(_answer_key(record.account_id, request.headers[HEADER]), plain, _aad(record)))
    IdempotencyRecord.objects.filter(pk=record.pk).update(status=response.status_code, response=stored,
                                                          completed_at=timezone.now())


def operation_decorator(view_func):
    """Around the operation's function (after authentication and input parsing): take the key, or
    answer with the replay."""

    @functools.wraps(view_func)
    def wrapper(request, *args, **kwargs):
        outcome = begin(request)
        if isinstance(outcome, HttpResponse):
            return outcome
        if outcome is not None:
            setattr(request, _ATTRIBUTE, outcome)
        return view_func(request, *args, **kwargs)

    return wrapper


def view_decorator(run):
    """Around the whole operation (its answer rendered, errors included): keep the answer."""

    @functools.wraps(run)
    def wrapper(request, *args, **kwargs):
        response = run(request, *args, **kwargs)
        record = getattr(request, _ATTRIBUTE, None)
        if record is not None:
            delattr(request, _ATTRIBUTE)
            finish(request, record, response)
        return response

    return wrapper


def install(api) -> None:
    api.add_decorator(view_decorator, mode="view")
    api.add_decorator(operation_decorator, mode="operation")


def document(schema: dict) -> dict:
    """The Idempotency-Key header on every POST."""
    parameter = {"in": "header", "name": HEADER, "required": False, "description": DESCRIPTION,
                 "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"}}
    for operations in schema.get("paths", {}).values():
        operation = operations.get("post")
        if operation is not None:
            params = operation.setdefault("parameters", [])
            if not any(p.get("name") == HEADER for p in params):
                params.append(dict(parameter))
    return schema
