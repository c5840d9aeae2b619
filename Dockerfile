# Criminal Record Registry API: one image, configured by REGISTRY_* variables.
#
# The base image is pinned to a patch release of Python 3.11 on Debian 12 (bookworm); the
# dependencies are installed from requirements.lock, every one pinned with its hashes
# (`make lock` regenerates it from pyproject.toml; tests/unit/test_lock_file.py keeps the
# two in step). pyproject.toml keeps ranges for those who install the package as a library.
#
# REGISTRY_ENV is `production`: no GraphiQL, no introspection, no demo data. The demo is an
# explicit opt-in (`-e REGISTRY_ENV=development`, or docker-compose.yml's `demo` profile).
# The signing key (REGISTRY_SIGNING_KEY_FILE) lives under /app/var, with the audit key and
# the audit checkpoints' public keys: mount a volume there to keep them, and the SQLite
# database if used. The audit witness (REGISTRY_AUDIT_WITNESS) belongs on storage the
# database's administrator cannot rewrite.
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    REGISTRY_ENV=production \
    REGISTRY_DATABASE_URL=sqlite:////app/var/registry.db \
    REGISTRY_SIGNING_KEY_FILE=/app/var/signing-key.pem \
    REGISTRY_AUDIT_KEYRING_DIR=/app/var/audit-keys \
    REGISTRY_AUDIT_KEY_FILE=/app/var/audit-key \
    REGISTRY_AUDIT_WITNESS=/app/var/audit-witness.jsonl

WORKDIR /app

# The locked dependencies first, in their own layer: a code change does not reinstall them.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

COPY pyproject.toml README.md ./
COPY api ./api
COPY schema ./schema
COPY policies ./policies
COPY db ./db
# --no-deps: everything the project needs came from the lock file above.
RUN pip install --no-deps . \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin registry \
    && mkdir -p /app/var \
    && chown registry:registry /app/var

USER registry
VOLUME ["/app/var"]
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status==200 else 1)"]

# Migrations first (idempotent), then one uvicorn worker; `exec` so signals reach it.
CMD ["sh", "-c", "registry db upgrade && exec registry serve --host 0.0.0.0 --port 8000"]
