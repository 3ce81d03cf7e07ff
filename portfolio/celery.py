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


def ensure_state_folders(conf) -> None:
    """Create the folders Celery writes to: kombu's filesystem transport does not
    create its own, and beat's schedule file needs its folder to exist."""
    options = conf.broker_transport_options or {}
    folders = [options[key] for key in ("data_folder_in", "data_folder_out", "control_folder",
                                        "processed_folder") if key in options]
    if conf.beat_schedule_filename:
        folders.append(Path(conf.beat_schedule_filename).parent)
    for folder in folders:
        Path(folder).mkdir(parents=True, exist_ok=True)


ensure_state_folders(app.conf)
