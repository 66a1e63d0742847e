#!/usr/bin/env bash
# Make sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) answer before the tests:
# reuse them when running, start them when installed and stopped, install them from
# Debian's packages when missing and running as root; otherwise fail with one clear line.
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 0.5; done
  return 1
}

can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

apt_install() {
  echo "installing $* from Debian's packages" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
  port_open 5432 && return 0
  if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    can_install || { echo "PostgreSQL is not running on 127.0.0.1:5432 and is not installed: install it (apt-get install postgresql) or start it" >&2; exit 1; }
    apt_install postgresql
    local version; version=$(ls /etc/postgresql | sort -V | tail -n 1)
    # Fresh install: the tests connect as postgres/postgres over TCP.
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
  else
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
  fi
  wait_port 5432 || { echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1; }
}

ensure_redis() {
  port_open 6379 && return 0
  if ! command -v redis-server >/dev/null; then
    can_install || { echo "Redis is not running on 127.0.0.1:6379 and is not installed: install it (apt-get install redis-server) or start it" >&2; exit 1; }
    apt_install redis-server
  fi
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  wait_port 6379 || { echo "Redis did not start on 127.0.0.1:6379" >&2; exit 1; }
}

ensure_postgres
ensure_redis
echo "PostgreSQL and Redis are up"
