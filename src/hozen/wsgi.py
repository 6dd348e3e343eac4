"""WSGI entry point: `gunicorn hozen.wsgi` in production.

A WSGI server runs no system checks, so the one that must stop a start is run here: in production
a missing or unreadable key-encryption key fails the start (the worker does not boot) with the
same message as `hozen check` (hozen.E001), rather than at the first request that encrypts.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hozen.settings")
application = get_wsgi_application()


def _check_kek_at_start() -> None:
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from hozen.crypto.apps import check_kek

    if not settings.PRODUCTION:
        return
    errors = check_kek()
    if errors:
        raise ImproperlyConfigured("; ".join(f"({e.id}) {e.msg}. {e.hint}" for e in errors))


_check_kek_at_start()
