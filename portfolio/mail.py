"""The SMTP email backend: Django's, with a longer wait for the server's answer to a message.

A server may store a message and send its final ``250`` late. A client that has stopped
waiting by then records a failure and retries, and the recipient gets the message twice.
So connecting and each command wait ``EMAIL_TIMEOUT``, but ``DATA`` — the message itself
and the server's final reply to it — waits ``EMAIL_DATA_TIMEOUT``, which is much longer.
That only narrows the window: a reply later than that still leads to a second copy, with
the same ``Message-ID`` (exactly-once cannot be promised over SMTP).
"""

from __future__ import annotations

import functools
import smtplib

from django.conf import settings
from django.core.mail.backends.smtp import EmailBackend


class _LongDataWait:
    """An ``smtplib`` client whose ``DATA`` exchange uses its own, longer socket timeout."""

    def __init__(self, *args, data_timeout: float | None = None, **kwargs):
        self.data_timeout = data_timeout
        super().__init__(*args, **kwargs)

    def data(self, msg):
        sock = self.sock
        if sock is None or self.data_timeout is None:
            return super().data(msg)
        command_timeout = sock.gettimeout()
        sock.settimeout(self.data_timeout)
        try:
            return super().data(msg)
        finally:
            if self.sock is sock:  # still connected: later commands wait as before
                sock.settimeout(command_timeout)


class SMTP(_LongDataWait, smtplib.SMTP):
    pass


class SMTP_SSL(_LongDataWait, smtplib.SMTP_SSL):  # noqa: N801 (smtplib's name)
    pass


class SMTPBackend(EmailBackend):
    """``EMAIL_URL=smtp://…``: ``EMAIL_TIMEOUT`` for connecting and commands,
    ``EMAIL_DATA_TIMEOUT`` for the message and the server's reply to it."""

    def __init__(self, *args, data_timeout: float | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.data_timeout = settings.EMAIL_DATA_TIMEOUT if data_timeout is None else data_timeout

    @property
    def connection_class(self):
        client = SMTP_SSL if self.use_ssl else SMTP
        return functools.partial(client, data_timeout=self.data_timeout)


# --- What a failure means (the digest and the notifications alike) ---------------------------

def classify_failure(error: Exception) -> tuple[bool, str]:
    """(permanent?, what to record). Permanent: a 5xx for the recipient or the message."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = list(error.recipients.values())
        text = "; ".join(f"{code} {_text(message)}" for code, message in replies)
        return all(500 <= code < 600 for code, _ in replies), text
    if isinstance(error, smtplib.SMTPDataError) and 500 <= error.smtp_code < 600:
        return True, f"{error.smtp_code} {_text(error.smtp_error)}"
    if isinstance(error, smtplib.SMTPResponseException):
        return False, f"{error.smtp_code} {_text(error.smtp_error)}"
    return False, f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _text(message) -> str:
    return message.decode(errors="replace") if isinstance(message, bytes) else str(message)
