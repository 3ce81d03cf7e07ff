"""The Celery application: ``celery -A portfolio worker`` / ``celery -A portfolio beat``.

Configuration comes from Django settings (``CELERY_*``); the beat schedule
lives there too, in one place.
"""

import os
from pathlib import Path

from celery import Celery

from portfolio.config import exit_on_config_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portfolio.settings")

app = Celery("portfolio")

with exit_on_config_error():
    app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def ensure_broker_folders(transport_options: dict) -> None:
    """kombu's filesystem transport does not create its folders; do it here."""
    for key in ("data_folder_in", "data_folder_out", "control_folder", "processed_folder"):
        if key in transport_options:
            Path(transport_options[key]).mkdir(parents=True, exist_ok=True)


ensure_broker_folders(app.conf.broker_transport_options or {})
