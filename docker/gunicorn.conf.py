"""gunicorn's settings for the web role (docker/entrypoint.sh).

Which peers may say the request came over HTTPS: gunicorn believes ``X-Forwarded-Proto``
(and its other secure-scheme headers) from the addresses in ``forwarded_allow_ips`` and
then tells Django the scheme is https. Its own default trusts loopback. Django trusts
``X-Forwarded-Proto`` only with ``PROXY_COUNT`` > 0, and gunicorn follows the same rule:

- ``PROXY_COUNT=0`` (no proxy): nobody, whatever ``FORWARDED_ALLOW_IPS`` says;
- ``PROXY_COUNT`` > 0: the proxy's addresses in ``FORWARDED_ALLOW_IPS`` (comma-separated
  addresses or networks; default loopback, a proxy on the same host).

The web role has already started Django (to migrate) before gunicorn reads this, so a
malformed ``PROXY_COUNT`` has stopped it there with a one-line message.
"""

import os

bind = ["0.0.0.0:8000"]
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
worker_tmp_dir = "/dev/shm"  # heartbeat files in memory, not on the container's overlay
accesslog = "-"
errorlog = "-"

if int(os.environ.get("PROXY_COUNT") or 0) > 0:
    forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or "127.0.0.1,::1"
else:
    forwarded_allow_ips = ""
