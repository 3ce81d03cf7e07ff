"""A real HTTP server on loopback standing in for Slack's and Teams' incoming webhooks: it
records every POST and answers as the test scripts it.

Knobs:

- ``script(path, *replies)``: the replies to the next POSTs to ``path``, in order (a status,
  or ``(status, body)``); once they are used up, ``default`` (``200 ok``) answers.
- ``hold_on=k``: the k-th POST (counting from 1, any path) is read in full but not answered
  until ``release()``; ``held`` is set while it waits. A client that goes away meanwhile
  (a worker killed with SIGKILL) leaves it ``abandoned``: never answered, not delivered.

Mirroring the SMTP server (``tests.integration.smtp``): only a request the server answered
with a 2xx was delivered; every request is recorded with its path, headers (lower-case
names) and JSON body, and the status it was answered with (None if it never was).
"""

from __future__ import annotations

import json
import select
import socket
import threading
from collections import defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    number: int
    path: str
    headers: dict
    body: dict | None
    raw: bytes
    status: int | None = None  # what it was answered with; None while held, or abandoned
    abandoned: bool = False

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def idempotency_key(self) -> str:
        return self.headers.get("idempotency-key", "")


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        owner = self.server.owner
        request = owner._record(self.path, {k.lower(): v for k, v in self.headers.items()},
                                body, raw)
        if request.number == owner.hold_on and not owner._wait_for_release(self.connection):
            with owner._lock:
                request.abandoned = True
            self.close_connection = True
            return
        status, text = owner._reply_for(self.path)
        with owner._lock:
            request.status = status
        payload = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):  # noqa: A002 (quiet: the test reads the records)
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: WebhookServer


def _client_gone(connection: socket.socket) -> bool:
    readable, _, _ = select.select([connection], [], [], 0)
    if not readable:
        return False
    try:
        return connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class WebhookServer:
    """``start()`` it, point channels at ``url(path)``, ``stop()`` it at the end."""

    host = "127.0.0.1"

    def __init__(self, *, hold_on: int | None = None, default=(200, "ok")):
        self.hold_on = hold_on
        self.default = default
        self.held = threading.Event()
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._scripts: dict[str, deque] = defaultdict(deque)
        self._requests: list[Request] = []
        self._server = _Server((self.host, 0), _Handler)
        self._server.owner = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> WebhookServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def script(self, path: str, *replies) -> None:
        with self._lock:
            self._scripts[path].extend(r if isinstance(r, tuple) else (r, f"status {r}")
                                       for r in replies)

    def release(self) -> None:
        self._released.set()

    # The handler's side -------------------------------------------------------------------

    def _record(self, path, headers, body, raw) -> Request:
        with self._lock:
            request = Request(number=len(self._requests) + 1, path=path, headers=headers,
                              body=body, raw=raw)
            self._requests.append(request)
            return request

    def _reply_for(self, path: str) -> tuple[int, str]:
        with self._lock:
            queue = self._scripts.get(path)
            return queue.popleft() if queue else self.default

    def _wait_for_release(self, connection: socket.socket) -> bool:
        """Hold the request until released (True) or until its client goes away (False)."""
        self.held.set()
        while not self._released.wait(0.05):
            if _client_gone(connection):
                return False
        return not _client_gone(connection)

    # What it received ---------------------------------------------------------------------

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def delivered(self, path: str | None = None) -> list[Request]:
        return [r for r in self.requests if r.delivered and (path is None or r.path == path)]

    @property
    def abandoned(self) -> list[Request]:
        return [r for r in self.requests if r.abandoned]


class RefusingPort:
    """A loopback port nothing listens on: a bound socket that never listens, so a connect
    is refused at once (and no other program can take the port meanwhile)."""

    host = "127.0.0.1"

    def __init__(self):
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind((self.host, 0))
        self.port = self._socket.getsockname()[1]

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def close(self) -> None:
        self._socket.close()
