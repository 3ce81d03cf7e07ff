"""Who may say a request came over HTTPS: real gunicorn, started with the web role's own
configuration (docker/gunicorn.conf.py), the project's WSGI application and the test
database, on a loopback port.

With ``PROXY_COUNT=0`` there is no proxy, so an ``X-Forwarded-Proto: https`` header is a
client's claim, even from 127.0.0.1: the request stays plain HTTP and ``HTTPS=true``
redirects it. gunicorn's own default would have believed it (the control).
"""

from __future__ import annotations

import http.client
import os
import re
import runpy
import subprocess
import sys
import threading

import pytest

from tests.integration.conftest import BASE_DIR, database_url

CONFIG = BASE_DIR / "docker" / "gunicorn.conf.py"
LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


@pytest.fixture
def gunicorn(tmp_path, settings):
    """``gunicorn(config=True, **env)`` serves portfolio.wsgi on an ephemeral loopback port
    (one worker) and returns the port."""
    started: list[subprocess.Popen] = []

    def start(*, config: bool = True, **extra_env) -> int:
        env = {
            "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "LANG": "C.UTF-8",
            "DJANGO_SETTINGS_MODULE": "portfolio.settings", "DATABASE_URL": database_url(),
            "SECRET_KEY": settings.SECRET_KEY, "DEBUG": "false", "HTTPS": "true",
            "HSTS_SECONDS": "0", "ALLOWED_HOSTS": "127.0.0.1", "VAR_DIR": str(tmp_path / "var"),
            # Overrides the configuration file's bind and workers, nothing else.
            "GUNICORN_CMD_ARGS": "--bind 127.0.0.1:0 --workers 1",
            **extra_env,
        }
        command = [sys.executable, "-m", "gunicorn", "portfolio.wsgi:application"]
        if config:
            command[3:3] = ["--config", str(CONFIG)]
        process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        started.append(process)
        # Read its log until a worker boots, or until it exits: no deadline to miss on a
        # busy machine. The rest of the log is drained so gunicorn never blocks on it.
        seen, port = [], None
        for line in process.stdout:
            seen.append(line)
            found = LISTENING.search(line)
            port = int(found.group(1)) if found else port
            if port is not None and "Booting worker" in line:
                break
        else:
            pytest.fail("gunicorn exited before serving:\n" + "".join(seen))
        threading.Thread(target=process.stdout.read, daemon=True).start()
        return port

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)


def get(port: int, path: str, **headers) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers={"Host": "127.0.0.1", **headers})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


@pytest.mark.integration
@pytest.mark.django_db
def test_without_a_proxy_gunicorn_ignores_x_forwarded_proto_from_loopback(gunicorn):
    port = gunicorn(PROXY_COUNT="0", FORWARDED_ALLOW_IPS="*")

    claimed = get(port, "/api/v1/teams/", **{"X-Forwarded-Proto": "https"})

    assert claimed.status == 301, "taken for HTTPS: the redirect to https:// was skipped"
    assert claimed.getheader("Location") == "https://127.0.0.1/api/v1/teams/"

    # The control: gunicorn's own default trusts loopback, and the claim would pass.
    default_port = gunicorn(config=False, PROXY_COUNT="0")
    believed = get(default_port, "/api/v1/teams/", **{"X-Forwarded-Proto": "https"})
    assert believed.status == 401


@pytest.mark.parametrize(("env", "trusted"), [
    ({"PROXY_COUNT": "0"}, ""),
    ({"PROXY_COUNT": "0", "FORWARDED_ALLOW_IPS": "*"}, ""),
    ({"PROXY_COUNT": "1"}, "127.0.0.1,::1"),
    ({"PROXY_COUNT": "1", "FORWARDED_ALLOW_IPS": ""}, "127.0.0.1,::1"),
    ({"PROXY_COUNT": "2", "FORWARDED_ALLOW_IPS": "10.0.0.0/8"}, "10.0.0.0/8"),
])
def test_forwarded_headers_are_trusted_only_with_a_proxy(monkeypatch, env, trusted):
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    assert runpy.run_path(str(CONFIG))["forwarded_allow_ips"] == trusted
