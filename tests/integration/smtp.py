"""A real SMTP server on loopback (aiosmtpd) that records what it accepted, with faults.

Knobs:

- ``refuse=True``: nothing listens on the port until ``accept()`` is called, so a client
  gets a real "connection refused" (the port is held by a bound, non-listening socket,
  which the kernel answers with a reset).
- ``reject``: addresses refused for good with ``550`` at ``RCPT TO``.
- ``tempfail``: address -> how many times it is refused with ``451`` first.
- ``block_on=k``: the k-th ``DATA`` (counting from 1) waits before storing or answering
  until ``release()``; ``blocked`` is set while it waits. A client that dies meanwhile
  drops the connection, aiosmtpd cancels the handler, and the message is never stored:
  it was not delivered.
- ``reply_delay=s``: each ``DATA`` (or only the ``delay_on``-th) stores the message at once
  but answers ``250`` only ``s`` seconds later: a server that is slow to confirm what it
  already delivered. ``unanswered`` counts stored messages whose client left before the
  reply.

Each accepted message is parsed into a ``Received`` (envelope recipients, Message-ID,
subject, plain-text and HTML parts).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from dataclasses import dataclass

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    recipients: tuple[str, ...]
    message_id: str
    subject: str
    text: str
    html: str
    headers: dict


def parse(raw: bytes, recipients) -> Received:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return Received(
        recipients=tuple(recipients),
        message_id=str(message["Message-ID"] or ""),
        subject=str(message["Subject"] or ""),
        text=text.get_content() if text is not None else "",
        html=html.get_content() if html is not None else "",
        headers={key: str(value) for key, value in message.items()},
    )


class RecordingHandler:
    def __init__(self, *, reject=(), tempfail=None, block_on: int | None = None,
                 reply_delay: float = 0.0, delay_on: int | None = None):
        self.reply_delay = reply_delay
        self.delay_on = delay_on
        self.unanswered = 0
        self.reject = {address.lower() for address in reject}
        self.tempfail = {address.lower(): count for address, count in (tempfail or {}).items()}
        self.block_on = block_on
        self.blocked = threading.Event()
        self._released = threading.Event()
        self._lock = threading.Lock()
        self.received: list[Received] = []
        self.data_commands = 0
        self.refused_rcpt: list[tuple[str, int]] = []
        self.abandoned = 0  # DATA commands whose client went away while it was blocked

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        key = address.lower()
        if key in self.reject:
            with self._lock:
                self.refused_rcpt.append((address, 550))
            return "550 5.1.1 No such mailbox here"
        with self._lock:
            if self.tempfail.get(key, 0) > 0:
                self.tempfail[key] -= 1
                self.refused_rcpt.append((address, 451))
                return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self._lock:
            self.data_commands += 1
            number = self.data_commands
        if number == self.block_on:
            self.blocked.set()
            try:
                while not self._released.is_set():
                    await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                # The client's connection dropped: aiosmtpd cancels the handler, the message
                # is neither stored nor answered.
                with self._lock:
                    self.abandoned += 1
                raise
        received = parse(envelope.original_content or envelope.content, envelope.rcpt_tos)
        with self._lock:
            self.received.append(received)
        if self.reply_delay and self.delay_on in (None, number):
            try:
                await asyncio.sleep(self.reply_delay)
            except asyncio.CancelledError:
                with self._lock:  # stored, but the client never heard so
                    self.unanswered += 1
                raise
        return "250 2.0.0 Message accepted for delivery"

    def release(self) -> None:
        self._released.set()


class SmtpServer:
    """``start()`` it, point Django at ``host``/``port``, ``stop()`` it at the end."""

    host = "127.0.0.1"

    def __init__(self, *, refuse: bool = False, reject=(), tempfail=None,
                 block_on: int | None = None, reply_delay: float = 0.0,
                 delay_on: int | None = None):
        self.handler = RecordingHandler(reject=reject, tempfail=tempfail, block_on=block_on,
                                        reply_delay=reply_delay, delay_on=delay_on)
        self._placeholder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._placeholder.bind((self.host, 0))  # bound, never listening: connects are refused
        self.port = self._placeholder.getsockname()[1]
        self._refuse = refuse
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        if not self._refuse:
            self.accept()
        return self

    def accept(self) -> None:
        """Start listening on the port (ends the refused-connection phase)."""
        if self.controller is not None:
            return
        self._placeholder.close()
        self.controller = Controller(self.handler, hostname=self.host, port=self.port,
                                     ready_timeout=10)
        self.controller.start()

    def stop(self) -> None:
        self.handler.release()
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
        self._placeholder.close()

    # What it received ----------------------------------------------------------------

    @property
    def received(self) -> list[Received]:
        with self.handler._lock:
            return list(self.handler.received)

    def by_recipient(self) -> dict[str, list[Received]]:
        mailbox: dict[str, list[Received]] = {}
        for message in self.received:
            for address in message.recipients:
                mailbox.setdefault(address.lower(), []).append(message)
        return mailbox

    @property
    def blocked(self) -> threading.Event:
        return self.handler.blocked

    def release(self) -> None:
        self.handler.release()
