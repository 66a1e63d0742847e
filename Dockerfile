# One image for every service, the relay worker and the migration job:
#   docker run IMAGE serve gateway | serve intake | worker relay | migrate
# An exact release of the Python the platform is tested on (bookworm, as the CI machine).
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

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
ENTRYPOINT ["onestop"]
CMD ["serve", "gateway", "--port", "8000"]
