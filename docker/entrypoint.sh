#!/bin/sh
# Role dispatcher for the one application image (see Dockerfile).
#
#   web          apply migrations (one replica at a time), then gunicorn on :8000
#                with WEB_CONCURRENCY workers (default 2), access log to stdout
#                (docker/gunicorn.conf.py; X-Forwarded-Proto is believed only with
#                PROXY_COUNT > 0, from FORWARDED_ALLOW_IPS)
#   worker       wait until the schema is migrated, then a Celery worker with
#                WORKER_CONCURRENCY processes (default 2); scale with replicas
#   beat         wait until the schema is migrated, then Celery beat; run
#                EXACTLY ONE, or every periodic job is sent once per beat
#   migrate      apply migrations and exit
#   healthcheck  exit 0 when GET /healthz on this container answers 200
#   anything else is run as given (`python manage.py createsuperuser`, `sh`)
set -eu

cd /app

# Apply migrations. Several web replicas start at once; a PostgreSQL advisory
# lock makes them take turns, so the first migrates and the others find
# nothing left to do (instead of racing on the same CREATE TABLE).
migrate() {
    python - <<'PY'
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portfolio.settings")
from portfolio.config import exit_on_config_error

with exit_on_config_error():
    django.setup()

from django.core.management import call_command
from django.db import connection

MIGRATION_LOCK = 0x706F7274  # any constant shared by all replicas ("port")

if connection.vendor == "postgresql":
    with connection.cursor() as cursor:
        # Held by this session until the process exits.
        cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
call_command("migrate", interactive=False)
PY
}

# Worker and beat need the tables the web role creates. `migrate --check`
# exits 1 while migrations are pending (or the database is not reachable yet)
# and 2 on a configuration error, which waiting cannot fix.
wait_for_schema() {
    deadline=$(( $(date +%s) + ${SCHEMA_WAIT_SECONDS:-300} ))
    until python manage.py migrate --check >/dev/null 2>&1; do
        if [ "$?" -eq 2 ]; then
            python manage.py migrate --check  # prints the configuration error
            exit 2
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "The database schema is not ready (the web role migrates it):" >&2
            python manage.py migrate --plan >&2 || true
            exit 1
        fi
        sleep 2
    done
}

role="${1:-web}"

case "$role" in
    web)
        migrate
        # Bind, workers, logs and which proxies to trust (only with PROXY_COUNT > 0).
        exec gunicorn --config docker/gunicorn.conf.py portfolio.wsgi:application
        ;;
    worker)
        wait_for_schema
        exec celery -A portfolio worker \
            --loglevel=INFO \
            --concurrency="${WORKER_CONCURRENCY:-2}"
        ;;
    beat)
        wait_for_schema
        # The schedule file is per container state: /tmp is always writable
        # and a restarted beat simply recomputes its next run times.
        exec celery -A portfolio beat \
            --loglevel=INFO \
            --schedule /tmp/celerybeat-schedule
        ;;
    migrate)
        migrate
        ;;
    healthcheck)
        # No curl in the slim image: urllib. The Host header is the first
        # entry of ALLOWED_HOSTS, so the check passes whatever the public name
        # is (with "*" or nothing set, localhost).
        exec python - <<'PY'
import os
import sys
import urllib.request

hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
host = next((h.lstrip(".") for h in hosts if h != "*"), "localhost")
request = urllib.request.Request("http://127.0.0.1:8000/healthz", headers={"Host": host})
try:
    with urllib.request.urlopen(request, timeout=5) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception as error:  # 503, refused, timeout: all mean unhealthy
    print(f"healthz: {error}", file=sys.stderr)
    sys.exit(1)
PY
        ;;
    *)
        exec "$@"
        ;;
esac
