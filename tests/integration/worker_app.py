"""The portfolio's Celery app as a test's worker process runs it (``worker_process``): the
same app, except that

- what the worker enqueues itself (a notification's retry, the tasks a job queues) goes to
  the test's own queue, ``TEST_CELERY_QUEUE``, as it goes to the default queue in
  production, instead of to a default queue no worker of this test consumes;
- ``TEST_CELERY_LOGLEVEL`` (e.g. ``DEBUG``) overrides the worker's ``--loglevel``, for a
  test that reads everything the worker logs.
"""

import logging
import os

from celery.signals import after_setup_logger

from portfolio.celery import app

app.conf.task_default_queue = os.environ.get("TEST_CELERY_QUEUE") or app.conf.task_default_queue


@after_setup_logger.connect
def _log_level(logger: logging.Logger, **kwargs) -> None:
    if os.environ.get("TEST_CELERY_LOGLEVEL"):
        logger.setLevel(os.environ["TEST_CELERY_LOGLEVEL"])


__all__ = ("app",)
