"""The throughput benchmark's reference: a bare Django project in one module (settings, URLs, view).

One view, ``GET /bare/``, returns 25 designation rows (id, reference, title, state, dates) as JSON,
read through the ORM from the same scratch database Hozen serves, newest id first. Nothing else:
no middleware, no sessions, no authentication, no policy, no audit, no templates. Persistent
database connections (as Hozen has on PostgreSQL), so the reference is the best a plain Django view
does under the same gunicorn configuration (``hozen.server.options``), not a strawman.

    DJANGO_SETTINGS_MODULE=_bare_app  (benchmarks/ on PYTHONPATH, HOZEN_DATA_DIR or HOZEN_DATABASE_URL set)
"""

from __future__ import annotations

import os
from pathlib import Path

# --- settings ---------------------------------------------------------------------------------------

DEBUG = False
SECRET_KEY = "bare-benchmark-reference-not-a-secret"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = __name__
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if os.environ.get("HOZEN_DATABASE_URL"):
    import dj_database_url

    DATABASES = {"default": dj_database_url.parse(os.environ["HOZEN_DATABASE_URL"], conn_max_age=60)}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "CONN_MAX_AGE": 60,
                             "NAME": Path(os.environ["HOZEN_DATA_DIR"]) / "hozen.sqlite3"}}

LOGGING_CONFIG = None


# --- the view ---------------------------------------------------------------------------------------

def rows(request):
    from django.http import JsonResponse

    data = list(Row.objects.order_by("-id").values("id", "reference", "title", "state", "designated_on",
                                                    "term_end")[:25])
    response = JsonResponse({"items": data})
    response["Content-Length"] = str(len(response.content))  # as Hozen's CommonMiddleware sets it
    return response


def _row_model():
    from django.db import models

    class Row(models.Model):  # noqa: DJ008 - read as values, never shown
        reference = models.CharField(max_length=40, null=True)  # noqa: DJ001 - Hozen's column, read as is
        title = models.CharField(max_length=200)
        state = models.CharField(max_length=20)
        designated_on = models.DateField()
        term_end = models.DateField()

        class Meta:
            app_label = "bare"
            managed = False
            db_table = "designation_designation"

    return Row


os.environ.setdefault("DJANGO_SETTINGS_MODULE", __name__)

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
Row = _row_model()

from django.urls import path  # noqa: E402

urlpatterns = [path("bare/", rows)]
