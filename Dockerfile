# One image for every service, the relay worker and the migration job:
#   docker run IMAGE serve gateway | serve intake | worker relay | migrate
# An exact release of the Python the platform is tested on (bookworm, as the CI machine).
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# pg_dump and pg_restore for `onestop backup` and `onestop restore` (Debian's PostgreSQL 15
# client: the same major release as the server in docker-compose.yml and the tests).
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, from the runtime lock: this layer is reused until the lock changes.
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
RUN pip install --no-deps . && rm -rf /app/shared /app/services

# Never run as root.
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin onestop
USER onestop

EXPOSE 8000
# Every service and worker answers /healthz on 8000 (the install job exits instead).
HEALTHCHECK --interval=20s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]
ENTRYPOINT ["onestop"]
CMD ["serve", "gateway", "--port", "8000"]
