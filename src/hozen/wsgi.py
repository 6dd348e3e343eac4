"""WSGI entry point: `gunicorn hozen.wsgi` in production."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hozen.settings")
application = get_wsgi_application()
