"""The HTTP API: /api/v1/, OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs."""

from __future__ import annotations

from ninja import NinjaAPI

from hozen import __version__

from . import errors, idempotency, paging
from .auth import TokenAuth
from .parser import StrictParser
from .throttle import AccountRateThrottle

DESCRIPTION = """Hozen (保全): ESI designations, aptitude assessments, access and oversight.
Authenticate with `Authorization: Bearer <token>` (`hozen tokens create USERNAME`).

**Errors.** Every error (4xx, 5xx) is `application/json` with one schema (`Error`): `detail` for
people, in the caller's language; `code` for programs; `request_id` as in the `X-Request-ID` header;
`field`/`fields`/`errors` naming the input at fault. Every operation lists the statuses it can answer.

**Bodies.** JSON bodies are `application/json`, UTF-8, at most `HOZEN_API_MAX_BODY_BYTES` (2.5 MiB
by default; 413 names the limit); a key given twice in one object is refused (422 `duplicate_key`),
and so is a lone surrogate or NUL in any string (422 `invalid_character`). Another content type is 415.

**Lists.** Every list takes `limit` (1–200, default 50) and `offset` (from 0); anything else is 422
naming the parameter. A list answered as an object carries `total`, `limit` and `offset`; one
answered as an array carries its total in the `X-Total-Count` header.

**Retries.** Every POST takes an optional `Idempotency-Key`: the same key and body within 24 hours
get the first answer again (`Idempotent-Replayed: true`) and nothing is done twice.
"""


class HozenAPI(NinjaAPI):
    """NinjaAPI whose OpenAPI is post-processed once: the error responses of every operation."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return idempotency.document(paging.document(errors.document(schema)))


api = HozenAPI(
    title="Hozen API",
    version=__version__,
    description=DESCRIPTION,
    auth=TokenAuth(),
    urls_namespace="api",
    docs_url="/docs",
    parser=StrictParser(),
    throttle=[AccountRateThrottle()],
)
errors.install(api)
idempotency.install(api)


from . import assessment as _assessment  # noqa: E402  (registers the routes)
from . import audit as _audit  # noqa: E402  (registers the routes)
from . import core as _core  # noqa: E402,F401  (registers the routes)
from . import designation as _designation  # noqa: E402  (registers the routes)
from . import handling as _handling  # noqa: E402  (registers the routes)
from . import operators as _operators  # noqa: E402  (registers the routes)
from . import vault as _vault  # noqa: E402  (registers the routes)

api.add_router("", _core.router)
api.add_router("/audit", _audit.router)
api.add_router("/designations", _designation.router)
api.add_router("/assessment", _assessment.router)
api.add_router("/handling", _handling.router)
api.add_router("/operators", _operators.router)
api.add_router("/vault", _vault.router)
