# One image for every application role of the compose stack (DESIGN.md §3):
#   web     migrate, then gunicorn on :8000   (the default command)
#   worker  celery -A portfolio worker
#   beat    celery -A portfolio beat           (run exactly one)
# docker/entrypoint.sh picks the role from the first argument; any other
# command runs as given, e.g. `docker compose run --rm web python manage.py
# createsuperuser`.
#
# No secret is baked in: SECRET_KEY and the service URLs come from the
# environment at run time. The only SECRET_KEY the build sees is a throwaway
# value scoped to the collectstatic step below.
FROM python:3.11-slim

# STATIC_ROOT lies outside VAR_DIR so that a volume mounted on var/ can never
# hide the collected static files; whitenoise serves them from there.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STATIC_ROOT=/app/staticfiles \
    VAR_DIR=/app/var

# An unprivileged user with a home (gunicorn puts its control socket there).
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app app

WORKDIR /app

# Dependencies first, in their own layer: rebuilt only when pyproject.toml or
# the lock change. Installs the runtime dependencies that pyproject.toml names
# (not the dev extra), with the exact versions CI tested (lock as constraints).
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install -c requirements.lock -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY . .

# The project itself, editable (as `make install` does): settings find
# templates/ and static/ next to the code (BASE_DIR), so the code must be
# imported from /app, not from a copy in site-packages.
#
# collectstatic runs with DEBUG unset, so the manifest storage hashes the
# files; SECRET_KEY is a build-only dummy that exists for this step only (it
# is not an ENV, so it is not in the image's config or at run time).
# Code and static files stay owned by root (read-only for the app user);
# only var/ (local state) is writable.
RUN pip install --no-deps -c requirements.lock -e . \
 && env -u DEBUG SECRET_KEY=build-only-collectstatic-not-a-secret \
        python manage.py collectstatic --noinput \
 && mkdir -p var \
 && chown -R app:app var \
 && chmod 0755 docker/entrypoint.sh

# Numeric, so that platforms can verify the image runs as non-root.
USER 10001:10001

EXPOSE 8000

ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["web"]
