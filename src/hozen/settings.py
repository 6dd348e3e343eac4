"""Django settings for Hozen, read from the environment only (ARCHITECTURE.md).

Variables (all optional on the embedded default):
  HOZEN_DATA_DIR        folder for the SQLite file, keys and documents (default: ./var)
  HOZEN_DATABASE_URL    e.g. postgresql://user@127.0.0.1:5432/hozen (default: SQLite in HOZEN_DATA_DIR)
  HOZEN_SECRET_KEY      Django secret key (default: generated once into HOZEN_DATA_DIR/secret_key)
  HOZEN_ALLOWED_HOSTS   comma-separated host names (default: 127.0.0.1,localhost)
  HOZEN_PASSKEY_RP_ID   the domain passkeys belong to (WebAuthn relying party ID; default: the host
                        name each request came to, which HOZEN_ALLOWED_HOSTS admits)
  HOZEN_DEBUG           "1" to turn debug on (off unless set)
  HOZEN_PRODUCTION      "1" for production hardening (HTTPS-only cookies, HSTS; no generated secrets)
  HOZEN_SESSION_IDLE_MINUTES  idle sign-out (default: 30)
  HOZEN_KEK_FILE        key-encryption keyring file, mode 0600 (default: HOZEN_DATA_DIR/kek.json)
  HOZEN_KEK             the keyring JSON itself, instead of a file
  HOZEN_AUDIT_ORIGIN    origin line of audit checkpoints (default: hozen.local/audit)
  HOZEN_AUDIT_CHECKPOINT_INTERVAL_SECONDS  how often a checkpoint is signed while the log grows (300)
  HOZEN_AUDIT_STRAGGLER_MARGIN_SECONDS     PostgreSQL integrator safety margin (60)
  HOZEN_VAULT_MAX_BYTES  largest document the vault accepts (default: 200 MiB)
  HOZEN_VAULT_S3_BUCKET  store vault documents in this S3-compatible bucket instead of
                         HOZEN_DATA_DIR/vault (with HOZEN_VAULT_S3_ENDPOINT, HOZEN_VAULT_S3_REGION;
                         credentials from the usual AWS_* variables)
  HOZEN_BRIEFING_MAX_AGE_DAYS  a handler re-acknowledges the briefing after this many days (365)
  HOZEN_API_MAX_BODY_BYTES  largest request body the API reads, uploads aside (default: 2.5 MiB)
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None


BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("HOZEN_DATA_DIR", "var")).resolve()
PRODUCTION = _flag("HOZEN_PRODUCTION")
DEBUG = _flag("HOZEN_DEBUG")


def _owner_only(path: Path, mode: int) -> None:
    """Tighten a file or folder that others could read to `mode` (issue 13 §4: the data folder holds
    names, dates of birth, titles and keys). One that cannot be changed stops the start, naming it."""
    current = stat.S_IMODE(path.stat().st_mode)
    if current & 0o077:
        try:
            os.chmod(path, mode)
        except OSError as exc:
            raise ImproperlyConfigured(f"{path} can be read by other accounts (mode {current:04o}) and could not be "
                                       f"changed ({exc.strerror}): run chmod {mode:o} {path}") from None


def _private_data_dir() -> None:
    """HOZEN_DATA_DIR, created 0700 (and tightened to 0700 if it was more open)."""
    DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    _owner_only(DATA_DIR, 0o700)


def _private_database_file(path: Path) -> Path:
    """The SQLite file exists 0600 before SQLite opens it; its WAL and shared-memory files take the
    database file's mode, and any left more open by an earlier version are tightened too."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for each in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        if each.exists():
            _owner_only(each, 0o600)
    return path


_private_data_dir()


def _secret_key() -> str:
    key = os.environ.get("HOZEN_SECRET_KEY", "").strip()
    if key:
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("HOZEN_SECRET_KEY must be set when HOZEN_PRODUCTION is on")
    # Embedded default: one key generated on first start and kept beside the data.
    path = DATA_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(64)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("HOZEN_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "axes",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "hozen.core",
    "hozen.access",
    "hozen.audit",
    "hozen.crypto",
    "hozen.rules",
    "hozen.operators",
    "hozen.designation",
    "hozen.assessment",
    "hozen.handling",
    "hozen.vault",
]

MIDDLEWARE = [
    "hozen.core.middleware.RequestIdMiddleware",
    "hozen.core.logs.RequestLogMiddleware",
    # Under /api/: 413 for an oversized body before anything reads it; every error as the API's JSON.
    "hozen.api.middleware.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "hozen.core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "hozen.core.middleware.SessionIdleMiddleware",
    "hozen.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "hozen.core.middleware.ActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hozen.urls"
WSGI_APPLICATION = "hozen.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "hozen.core.context_processors.shell",
            ],
        },
    },
]

_db_url = os.environ.get("HOZEN_DATABASE_URL", "").strip()
if _db_url:
    DATABASES = {"default": dj_database_url.parse(_db_url, conn_max_age=60, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # Short OLTP queries: PostgreSQL's JIT spent ~110 ms compiling plans that run in ~15 ms
        # (docs/benchmarks.md, designations at 100,000).
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _private_database_file(DATA_DIR / "hozen.sqlite3"),
            # Kept open between requests (per thread), as on PostgreSQL: opening one, with the PRAGMAs
            # below and Django's functions registered on it, cost ~1.7 ms of CPU per request.
            "CONN_MAX_AGE": 60,
            # WAL: readers never block the writer; busy timeout instead of "database is locked";
            # IMMEDIATE: a write transaction takes the lock up front instead of failing on upgrade.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
                                "PRAGMA secure_delete=ON;",  # shredded keys are overwritten, not left in free pages
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.Account"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:dashboard"

# Sessions: idle timeout. A request pushes the expiry forward (at most once a minute, and never beyond
# the limit: hozen.core.middleware.SessionIdleMiddleware), so the age is an idle limit.
SESSION_IDLE_MINUTES = _int("HOZEN_SESSION_IDLE_MINUTES", 30)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
# A refused form post says what happened and what to do, in the site's layout (issue 15).
CSRF_FAILURE_VIEW = "hozen.core.views.errors.csrf_failure"

# Sign-in lock-out (hozen.core.lockout, django-axes): per (user name, client address) after
# HOZEN_LOGIN_FAILURE_LIMIT failures, per user name from anywhere after
# HOZEN_LOGIN_USERNAME_FAILURE_LIMIT; never per address alone (behind a proxy everyone shares one).
# Many user names from one address are slowed down instead, up to HOZEN_LOGIN_DELAY_MAX_SECONDS.
AXES_FAILURE_LIMIT = _int("HOZEN_LOGIN_FAILURE_LIMIT", 5)
HOZEN_LOGIN_USERNAME_FAILURE_LIMIT = _int("HOZEN_LOGIN_USERNAME_FAILURE_LIMIT", 20)
HOZEN_LOGIN_DELAY_MAX_SECONDS = _int("HOZEN_LOGIN_DELAY_MAX_SECONDS", 4)
AXES_COOLOFF_TIME = 0.25  # hours: 15 minutes, or until an administrator unlocks
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The client's address: REMOTE_ADDR, or behind these reverse proxies the address they forward.
def _networks(name: str) -> tuple:
    import ipaddress

    networks = []
    for item in (part.strip() for part in os.environ.get(name, "").split(",")):
        if item:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ImproperlyConfigured(f"{name}: {item!r} is not an IP address or network") from None
    return tuple(networks)


HOZEN_TRUSTED_PROXIES = _networks("HOZEN_TRUSTED_PROXIES")
AXES_CLIENT_IP_CALLABLE = "hozen.core.lockout.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "hozen.core.views.auth.locked_out"
AXES_VERBOSE = False

# The cache: per process by default; HOZEN_REDIS_URL shares one between every worker and server
# (the API's request budget per account is then one budget, not one per process).
if os.environ.get("HOZEN_REDIS_URL", "").strip():
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": os.environ["HOZEN_REDIS_URL"].strip(), "KEY_PREFIX": "hozen"}}

# The API's request budget per account (hozen.api.throttle): requests/seconds, or "off".
HOZEN_API_RATE = os.environ.get("HOZEN_API_RATE", "1200/60").strip().lower()
if HOZEN_API_RATE != "off" and not (
        HOZEN_API_RATE.count("/") == 1 and all(p.isdigit() and int(p) > 0 for p in HOZEN_API_RATE.split("/"))):
    raise ImproperlyConfigured(f"HOZEN_API_RATE must be requests/seconds (like 1200/60) or off, got {HOZEN_API_RATE!r}")

OTP_TOTP_ISSUER = "Hozen"
OTP_TOTP_THROTTLE_FACTOR = 1
# Passkeys (hozen.core.passkeys): a second factor only, never a sign-in without the password. Set
# HOZEN_PASSKEY_RP_ID in production: a passkey works only under the domain it was made for, so the
# domain must not change with the host name someone typed.
HOZEN_PASSKEY_RP_ID = os.environ.get("HOZEN_PASSKEY_RP_ID", "").strip().lower()
OTP_WEBAUTHN_HELPER_CLASS = "hozen.core.passkeys.PasskeyHelper"
OTP_WEBAUTHN_RP_ID_CALLABLE = "hozen.core.passkeys.rp_id"
# The origin a browser reports must be the request's own (PasskeyHelper.get_allowed_origins): Django
# has checked its host against ALLOWED_HOSTS, so no fixed list of origins (with ports) is kept here.
SILENCED_SYSTEM_CHECKS = ["otp_webauthn.E030"]
OTP_WEBAUTHN_RP_NAME = "Hozen"
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_EXCEPTION_LOGGER_NAME = ""  # refusals are answered to the person, not logged with a trace

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "hozen_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": DATA_DIR / "files"}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage" if PRODUCTION
                    else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Work that follows a request (hozen.core.tasks): queued as rows of this database, in the service's
# own transaction, and run by `hozen jobs worker`. A task's arguments are ids, never personal data.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# E-mail notices (hozen.core.notices): SMTP with HOZEN_EMAIL_HOST, else printed on the console (the
# demo). Links in them start with HOZEN_BASE_URL, the address people reach Hozen at.
HOZEN_BASE_URL = os.environ.get("HOZEN_BASE_URL", "http://127.0.0.1:8000").strip().rstrip("/")
if os.environ.get("HOZEN_EMAIL_HOST", "").strip():
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["HOZEN_EMAIL_HOST"].strip()
    EMAIL_PORT = _int("HOZEN_EMAIL_PORT", 587)
    EMAIL_HOST_USER = os.environ.get("HOZEN_EMAIL_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("HOZEN_EMAIL_PASSWORD", "")
    # STARTTLS unless turned off (HOZEN_EMAIL_STARTTLS=0, e.g. a relay on the same host).
    EMAIL_USE_TLS = os.environ.get("HOZEN_EMAIL_STARTTLS", "1").strip().lower() not in ("0", "false", "no", "off")
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = os.environ.get("HOZEN_EMAIL_FROM", "hozen@localhost").strip()
# API tokens end this many days after they are made (issue 14 §3); `hozen tokens create --days N` for less.
HOZEN_API_TOKEN_DAYS = _int("HOZEN_API_TOKEN_DAYS", 90)
# How long a task worker's heartbeat lasts; a running task whose worker missed it is queued again.
HOZEN_TASK_HEARTBEAT_SECONDS = _int("HOZEN_TASK_HEARTBEAT_SECONDS", 45)
# A ledger PDF of more rows than this is prepared by a task instead of built in the request.
HOZEN_LEDGER_DIRECT_PDF_ROWS = _int("HOZEN_LEDGER_DIRECT_PDF_ROWS", 1000)
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise expects it even when serving from finders
WHITENOISE_AUTOREFRESH = DEBUG

# Security headers. CSP is set by hozen.core.middleware (no inline scripts anywhere).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = not _flag("HOZEN_BEHIND_TLS_PROXY_REDIRECTS")
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 63072000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if DEBUG:
        raise ImproperlyConfigured("HOZEN_DEBUG cannot be on when HOZEN_PRODUCTION is on")

# Logs (hozen.core.logs): `json` or `text`, both without personal data, tokens or query strings.
HOZEN_LOG_FORMAT = os.environ.get("HOZEN_LOG_FORMAT", "text").strip().lower()
if HOZEN_LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"HOZEN_LOG_FORMAT must be text or json, got {HOZEN_LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"hozen": {"()": f"hozen.core.logs.{'JsonFormatter' if HOZEN_LOG_FORMAT == 'json' else 'TextFormatter'}"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "hozen"}},
    "root": {"handlers": ["console"], "level": os.environ.get("HOZEN_LOG_LEVEL", "WARNING")},
    # One line per request when HOZEN_LOG_REQUESTS is on (in JSON it replaces gunicorn's access log).
    "loggers": {"hozen.request": {"level": "INFO" if _flag("HOZEN_LOG_REQUESTS") or HOZEN_LOG_FORMAT == "json"
                                  else "WARNING"}},
}

NINJA_PAGINATION_PER_PAGE = 50

HOZEN_AUDIT_ORIGIN = os.environ.get("HOZEN_AUDIT_ORIGIN", "hozen.local/audit")
# A new signed checkpoint at most this often while the log grows (the job checks every minute).
HOZEN_AUDIT_CHECKPOINT_INTERVAL_SECONDS = _int("HOZEN_AUDIT_CHECKPOINT_INTERVAL_SECONDS", 300)
# PostgreSQL only: how long an audit id may take to get its transaction id (see audit/integrator.py).
HOZEN_AUDIT_STRAGGLER_MARGIN_SECONDS = _int("HOZEN_AUDIT_STRAGGLER_MARGIN_SECONDS", 60)

# The document vault (hozen.vault): size limit, and an S3-compatible object store in production
# (django-storages); the embedded default keeps the encrypted objects under HOZEN_DATA_DIR/vault.
HOZEN_VAULT_MAX_BYTES = _int("HOZEN_VAULT_MAX_BYTES", 200 * 1024 * 1024)
if os.environ.get("HOZEN_VAULT_S3_BUCKET", "").strip():
    STORAGES["vault"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["HOZEN_VAULT_S3_BUCKET"].strip(),
            "endpoint_url": os.environ.get("HOZEN_VAULT_S3_ENDPOINT") or None,
            "region_name": os.environ.get("HOZEN_VAULT_S3_REGION") or None,
            "file_overwrite": False,
            "default_acl": None,
            "querystring_auth": False,
        },
    }

# Request bodies: the API refuses a larger body with 413 naming the limit (hozen.api.middleware);
# uploads (multipart) may be as large as the vault accepts plus the form around the file.
HOZEN_API_MAX_BODY_BYTES = _int("HOZEN_API_MAX_BODY_BYTES", 2_621_440)
HOZEN_API_MULTIPART_OVERHEAD_BYTES = 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = HOZEN_API_MAX_BODY_BYTES

# Handlers re-acknowledge the briefing after this many days (and on a rules-pack change).
HOZEN_BRIEFING_MAX_AGE_DAYS = _int("HOZEN_BRIEFING_MAX_AGE_DAYS", 365)
