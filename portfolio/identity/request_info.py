"""The client's address as the login throttle sees it (django-axes, behind PROXY_COUNT
proxies), so the account record and the lockouts agree."""

from __future__ import annotations

from axes.helpers import get_client_ip_address


def client_ip(request) -> str | None:
    if request is None:
        return None
    return get_client_ip_address(request) or None
