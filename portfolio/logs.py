"""Logging filters (``LOGGING`` in settings).

A 4xx answer is about the request, not a fault of ours: it is logged as one line (method,
path, status), never with the traceback of the exception that produced it. Django logs a
refusal raised as ``PermissionDenied`` (403) with its exception attached; without this
filter every refused click would print a dozen lines of stack that point at no bug.
"""

from __future__ import annotations

import logging


class OneLineClientErrors(logging.Filter):
    """Drop the exception from records of 4xx responses; 5xx keep their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500 and record.exc_info:
            record.exc_info = None
            record.exc_text = None
        return True
