"""Posting to Slack and Microsoft Teams incoming webhooks, and nowhere else.

A webhook URL is an admin's setting, so it must not become a way to make the server
request anything it can reach (server-side request forgery). A URL is accepted, and a post
made, only when:

- it is ``https``, and its host is on the allowed-hosts list admins keep (``WebhookHost``);
- it carries no user name or password;
- every address the host resolves to is a public one. Loopback addresses — and plain
  ``http`` to them — only when ``WEBHOOK_ALLOW_LOOPBACK`` is on (tests, a developer's
  machine), never private or link-local ones;
- the connection goes to the address that was checked (no second lookup between the check
  and the connection), and a redirect is never followed.

The URL is a secret: it is never logged, never put in an error we record (urllib3's
errors name it, so only the error's kind is kept), and shown back only as ``url_hint``.
"""

from __future__ import annotations

import contextvars
import ipaddress
import json
import logging
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3

from portfolio.hooks import Message

NOT_HTTPS = "A webhook URL starts with https://."
NO_HOST = "This is not a URL with a host name."
HAS_CREDENTIALS = "A webhook URL carries no user name or password."
HOST_NOT_ALLOWED = ("{host} is not an allowed webhook host. An admin adds it under "
                    "Allowed webhook hosts first.")
NOT_PUBLIC = "{host} resolves to an address that is not public ({address}); refused."
DOES_NOT_RESOLVE = "{host} does not resolve to an address."
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


# urllib3 logs each request's path at DEBUG ("POST /services/T…/B…/secret"): while a
# webhook is posted, its connection pool logs nothing.
_posting = contextvars.ContextVar("webhook_posting", default=False)


class _QuietWhilePosting(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _posting.get()


logging.getLogger("urllib3.connectionpool").addFilter(_QuietWhilePosting())


class WebhookRefused(Exception):
    """The URL or the address it resolves to is not one we post to. Permanent."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: str


def _is_loopback_name(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_errors(url: str, *, allowed_hosts: set[str], allow_loopback: bool) -> list[str]:
    """What is wrong with ``url`` as a webhook, without asking DNS (forms and the service
    ask this; ``post`` asks it again and checks the addresses)."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        return [NO_HOST]
    if not host:
        return [NO_HOST]
    if parts.username or parts.password:
        return [HAS_CREDENTIALS]
    loopback = allow_loopback and _is_loopback_name(host)
    if parts.scheme != "https" and not (loopback and parts.scheme == "http"):
        return [NOT_HTTPS]
    if host not in {h.lower() for h in allowed_hosts}:
        return [HOST_NOT_ALLOWED.format(host=host)]
    return []


def url_hint(url: str) -> str:
    """What may be shown of a saved URL: its host and the last four characters."""
    parts = urlsplit(url.strip())
    tail = url.strip().rstrip("/")[-4:]
    return f"{parts.scheme}://{parts.hostname or '?'}/…{tail}"


def _checked_address(host: str, port: int, *, allow_loopback: bool) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise WebhookRefused(DOES_NOT_RESOLVE.format(host=host)) from None
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise WebhookRefused(DOES_NOT_RESOLVE.format(host=host))
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_loopback and allow_loopback:
            continue
        if not ip.is_global:
            raise WebhookRefused(NOT_PUBLIC.format(host=host, address=address))
    return addresses[0]


def payload(kind: str, message: Message, link: str) -> dict:
    """The body each service understands: Slack's ``text`` (mrkdwn), Teams' message card."""
    if kind == "teams":
        return {"@type": "MessageCard", "@context": "https://schema.org/extensions",
                "summary": message.subject, "title": message.subject, "text": message.text,
                "potentialAction": [{"@type": "OpenUri", "name": "Open in the tracker",
                                     "targets": [{"os": "default", "uri": link}]}]}
    return {"text": f"*{message.subject}*\n{message.text}\n<{link}|Open in the tracker>"}


def post(url: str, body: dict, *, allowed_hosts: set[str], allow_loopback: bool,
         timeout: float, idempotency_key: str) -> Reply:
    """POST ``body`` as JSON to ``url``; the reply's status and (the start of) its body.

    Raises ``WebhookRefused`` (permanent) for a URL or address we do not post to, and
    ``OSError`` with no URL in its message for a connection that failed (transient).
    """
    errors = url_errors(url, allowed_hosts=allowed_hosts, allow_loopback=allow_loopback)
    if errors:
        raise WebhookRefused(errors[0])
    parts = urlsplit(url.strip())
    host = parts.hostname.lower()
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    address = _checked_address(host, port, allow_loopback=allow_loopback)
    if https:
        pool = urllib3.HTTPSConnectionPool(address, port, server_hostname=host,
                                           assert_hostname=host, timeout=timeout,
                                           retries=False, maxsize=1)
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False,
                                          maxsize=1)
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    netloc_host = host if ":" not in host else f"[{host}]"
    headers = {"Host": netloc_host if parts.port is None else f"{netloc_host}:{parts.port}",
               "Content-Type": "application/json", "User-Agent": "ai-portfolio-tracker",
               "Idempotency-Key": idempotency_key}
    posting = _posting.set(True)
    try:
        response = pool.request("POST", path, body=json.dumps(body).encode(), headers=headers,
                                redirect=False, retries=False, preload_content=False)
        try:
            content = response.read(4000, decode_content=True)
        finally:
            response.release_conn()
    except urllib3.exceptions.HTTPError as error:
        # urllib3's messages name the URL, a secret: keep only what kind of failure it was.
        raise OSError(f"webhook request failed: {type(error).__name__}") from None
    finally:
        pool.close()
        _posting.reset(posting)
    return Reply(status=response.status, body=content.decode("utf-8", errors="replace"))
