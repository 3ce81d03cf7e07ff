"""WSGI entry point (gunicorn portfolio.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

from portfolio.config import exit_on_config_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portfolio.settings")

with exit_on_config_error():
    application = get_wsgi_application()
