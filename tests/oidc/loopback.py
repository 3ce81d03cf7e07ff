"""A real OpenID Connect provider on loopback for the sign-in tests (``provider.mjs``,
the certified ``oidc-provider`` package under Node), and the settings that point the
product at it.

Use the ``sso`` fixture in a test: it starts the provider once per test session (and per
pytest-xdist worker), registers the live server's callback, and turns single sign-on on
for the test. ``sso.accounts({...})`` says who exists at the provider and in which groups;
``sso.spoil_next_id_token("expired")`` makes the provider's next token response carry a
spoilt ID token. Without Node (or the npm registry, the first time) the tests are skipped
locally and fail in CI.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import require

HERE = Path(__file__).resolve().parent
CLIENT_ID = "portfolio-tracker"
CLIENT_SECRET = "loopback-client-secret"  # noqa: S105 (a test provider's)
ROLE_MAP = "pm=ai-pms;reviewer=ai-governance;tpm=tpms;leadership=execs;staff=portfolio-admins"
DEACTIVATE_GROUP = "leavers"
PROVIDER_NAME = "Loopback IdP"
# How long the provider may take to answer its discovery document after starting.
START_DEADLINE_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _install() -> None:
    """``npm ci`` from tests/oidc/package-lock.json when node_modules is missing."""
    if (HERE / "node_modules" / "oidc-provider").is_dir():
        return
    npm = shutil.which("npm")
    require(npm is not None, "npm not found: the loopback OpenID provider needs Node and npm")
    result = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                            cwd=HERE, capture_output=True, text=True, check=False)
    require(result.returncode == 0,
            f"npm ci for the loopback OpenID provider failed: {result.stderr[-500:]}")


@dataclass
class LoopbackProvider:
    issuer: str
    accounts_file: Path
    process: subprocess.Popen

    def accounts(self, accounts: dict) -> None:
        """Who exists at the provider: ``{"login": {"email", "name", "groups": [...]}}``;
        read again at every sign-in."""
        self.accounts_file.write_text(json.dumps(accounts))

    def spoil_next_id_token(self, mode: str) -> None:
        """"tampered", "wrong-audience", "expired", "wrong-issuer" or "wrong-nonce"
        (provider.mjs)."""
        request = urllib.request.Request(
            f"{self.issuer}/__test__/next-id-token", data=json.dumps({"mode": mode}).encode(),
            headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            assert response.status == 204

    def settings(self) -> dict:
        from portfolio.identity.rolemap import parse_role_map

        return {
            "OIDC_ISSUER": self.issuer, "SSO_ENABLED": True,
            "OIDC_RP_CLIENT_ID": CLIENT_ID, "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_RP_SCOPES": "openid email profile groups",
            "OIDC_ROLE_MAP": parse_role_map(ROLE_MAP),
            "OIDC_DEACTIVATE_GROUPS": [DEACTIVATE_GROUP],
            "OIDC_PROVIDER_NAME": PROVIDER_NAME,
        }


@pytest.fixture(scope="session")
def oidc_provider(live_server, tmp_path_factory):
    node = shutil.which("node")
    require(node is not None, "node not found: the loopback OpenID provider needs Node")
    _install()
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    server_port = live_server.url.rsplit(":", 1)[1]
    bases = [f"http://{host}:{server_port}" for host in ("localhost", "127.0.0.1")]
    accounts_file = tmp_path_factory.mktemp("oidc") / "accounts.json"
    accounts_file.write_text("{}")
    log_path = tmp_path_factory.getbasetemp() / f"oidc-provider-{port}.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [node, str(HERE / "provider.mjs")], cwd=HERE, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "PORT": str(port), "CLIENT_ID": CLIENT_ID,
             "CLIENT_SECRET": CLIENT_SECRET, "ACCOUNTS_FILE": str(accounts_file),
             "REDIRECT_URIS": ",".join(f"{base}/sso/callback/" for base in bases),
             "POST_LOGOUT_REDIRECT_URIS": ",".join(f"{base}/login/" for base in bases)})
    deadline = time.monotonic() + START_DEADLINE_SECONDS  # a start-up wait, not a result
    while True:
        try:
            with urllib.request.urlopen(  # noqa: S310 (loopback)
                    f"{issuer}/.well-known/openid-configuration", timeout=5):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log.close()
                message = ("the loopback OpenID provider did not start: "
                           + log_path.read_text()[-800:])
                require(False, message)
            time.sleep(0.2)
    yield LoopbackProvider(issuer=issuer, accounts_file=accounts_file, process=process)
    process.terminate()
    process.wait(timeout=10)
    log.close()


@pytest.fixture
def sso(oidc_provider, settings):
    """Single sign-on on, through the loopback provider, for one test."""
    from django.core.cache import cache

    from portfolio.identity.discovery import CACHE_KEY

    for name, value in oidc_provider.settings().items():
        setattr(settings, name, value)
    cache.delete(CACHE_KEY.format(issuer=oidc_provider.issuer))
    oidc_provider.accounts({})
    return oidc_provider
