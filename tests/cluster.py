"""The platform distributed as an operator runs it, every part a process of its own that
a test or a benchmark may kill and start again.

- ``PostgresServer``: a PostgreSQL cluster of this run's own (``initdb`` on a free port),
  so that restarting it in immediate mode (a crash) touches no other test's databases.
- ``Cluster``: the seven services (the national portal's mock among them), the SMS mock,
  the outbox relay, the event consumers and the portal sync worker, each an ``onestop``
  process in production settings with its secrets in files, as docker-compose.yml and
  deploy/k8s run them.

Used by the production install test (tests/e2e/test_production.py), the chaos tests
(tests/chaos/) and the system benchmark and soak (bench/system.py).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.infra import S3Server, free_port, free_ports, stop_processes
from tests.onestop import ONESTOP

SERVICES = ("procedures", "intake", "tracking", "documents", "notifications", "gateway",
            "national_portal")  # fmt: skip
CONSUMING = ("procedures", "intake", "tracking", "documents", "notifications")
# Background workers: the relay of every outbox; the consumers of every service but the
# gateway; the gateway's consumers alone, which are the portal sync (so it can be killed,
# scaled and watched apart, as deploy/k8s runs it).
WORKERS: dict[str, list[str]] = {
    "relay": ["worker", "relay"],
    "consume": ["worker", "consume", *(a for s in CONSUMING for a in ("--service", s))],
    "sync": ["worker", "consume", "--service", "gateway"],
}
SECRETS = {
    "onestop_jwt_secret": "prod-jwt-" + "j" * 40,
    "intake_payment_secret": "prod-payment-" + "p" * 30,
    "gateway_portal_client_secret": "prod-portal-" + "c" * 30,
    "portal_client_secret": "prod-portal-" + "c" * 30,
    "documents_s3_secret_key": "",  # the S3 server's, filled in
    "notifications_sms_api_key": "prod-sms-" + "s" * 30,
    "sms_mock_api_key": "prod-sms-" + "s" * 30,
    "onestop_admin_password": "first-login-admin-1",
}


class PostgresServer:
    """A PostgreSQL cluster of its own on a free port: started, stopped cleanly, or
    stopped in immediate mode (no checkpoint: the next start replays the WAL, as after a
    power cut of the server process). Run as the ``postgres`` user when we are root
    (``initdb`` refuses root)."""

    def __init__(self, *, max_connections: int = 300) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="onestop-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self.max_connections = max_connections
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--no-locale", "--no-sync")  # fmt: skip

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(
            [*self._as, str(_pg_bin() / program), *args], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"{program} {args[:3]}: {done.stdout}{done.stderr}")

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder}"
                   f" -c max_connections={self.max_connections}")  # fmt: skip
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "-o", options, "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """``immediate`` is a crash: every backend killed, nothing flushed but the WAL."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


def _pg_bin() -> Path:
    """The newest PostgreSQL's programs (Debian keeps them off PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not found:
        raise FileNotFoundError("PostgreSQL's server programs are not installed")
    return Path(found[-1])


@dataclass
class Cluster:
    """Every part of the platform as a process: ``start``, ``kill`` and ``ready`` by name
    (a service's name, ``sms_mock``, or a worker's: ``relay``, ``consume``, ``sync``)."""

    folder: Path
    env: dict[str, str]
    ports: dict[str, int]
    commands: dict[str, list[str]]
    cores: str | None = None  # pinned with taskset (the benchmark's servers)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @classmethod
    def production(
        cls,
        folder: Path,
        *,
        database_url: Callable[[str], str],
        redis_url: str,
        s3: S3Server,
        bucket: str,
        smtp_port: int,
        pool_size: int | None = 4,
        settings: dict[str, str] | None = None,
        cores: str | None = None,
    ) -> Cluster:
        """A production install's settings (secrets in files under ``folder``), with each
        service's database named by ``database_url(service)``; ``settings`` adds or
        overrides variables."""
        named = [*SERVICES, "sms_mock", *WORKERS]
        ports = dict(zip(named, free_ports(len(named)), strict=True))
        secrets = folder / "secrets"
        secrets.mkdir(parents=True, exist_ok=True)
        for name, value in {**SECRETS, "documents_s3_secret_key": s3.secret_key}.items():
            (secrets / name).write_text(value + "\n", encoding="utf-8")
        public = f"http://127.0.0.1:{ports['gateway']}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ONESTOP_", "PYTEST"))}
        env.update(
            ONESTOP_MODE="distributed",
            ONESTOP_ENVIRONMENT="production",
            ONESTOP_SECRETS_DIR=str(secrets),
            ONESTOP_DATA_DIR=str(folder / "data"),
            ONESTOP_REDIS_URL=redis_url,
            DOCUMENTS_S3_ENDPOINT=s3.endpoint,
            DOCUMENTS_S3_ACCESS_KEY=s3.access_key,
            DOCUMENTS_S3_BUCKET=bucket,
            DOCUMENTS_PUBLIC_URL=public,
            INTAKE_PUBLIC_URL=public,
            GATEWAY_PUBLIC_URL=public,
            NOTIFICATIONS_PUBLIC_URL=public,
            NOTIFICATIONS_SMTP_HOST="127.0.0.1",
            NOTIFICATIONS_SMTP_PORT=str(smtp_port),
            NOTIFICATIONS_SMS_URL=f"http://127.0.0.1:{ports['sms_mock']}",
            GATEWAY_VNEID_AUTHORIZE_URL=(
                f"http://127.0.0.1:{ports['national_portal']}/vneid/authorize"
            ),
            INTAKE_ACCOUNTS_URL=public,
        )
        for service in SERVICES:
            prefix = "PORTAL" if service == "national_portal" else service.upper()
            env[f"{prefix}_DATABASE_URL"] = database_url(service)
            if pool_size is not None:  # else production's (20)
                env[f"{prefix}_DB_POOL_SIZE"] = str(pool_size)
            service_url = f"http://127.0.0.1:{ports[service]}"
            env[f"GATEWAY_{service.upper()}_URL"] = service_url
            if service in ("procedures", "tracking", "documents"):
                env[f"INTAKE_{service.upper()}_URL"] = service_url
        env.update(settings or {})
        commands = {
            service: ["serve", service, "--host", "127.0.0.1", "--port", str(ports[service])]
            for service in SERVICES
        }
        commands["sms_mock"] = ["sms-mock", "--host", "127.0.0.1", "--port",
                                str(ports["sms_mock"])]  # fmt: skip
        for worker, args in WORKERS.items():
            commands[worker] = [*args, "--host", "127.0.0.1", "--port", str(ports[worker])]
        (folder / "logs").mkdir(exist_ok=True)
        return cls(folder, env, ports, commands, cores)

    @property
    def url(self) -> str:
        return self.part_url("gateway")

    def part_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def onestop(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [ONESTOP, *args], capture_output=True, text=True, env=self.env, timeout=timeout
        )

    def log(self, name: str) -> str:
        return (self.folder / "logs" / f"{name}.log").read_text(errors="replace")[-3000:]

    def start(self, *names: str) -> None:
        """Each part named (every part when none is), in the background; its output goes
        to ``logs/<name>.log``, appended to across restarts."""
        for name in names or tuple(self.commands):
            pinned = ["taskset", "-c", self.cores] if self.cores else []
            with (self.folder / "logs" / f"{name}.log").open("ab") as output:
                self.processes[name] = subprocess.Popen(
                    [*pinned, ONESTOP, *self.commands[name]],
                    stdout=output, stderr=subprocess.STDOUT, env=self.env,
                )  # fmt: skip

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> None:
        """``SIGKILL`` is a crash (nothing drained); ``SIGTERM`` a rolling restart's stop."""
        process = self.processes.pop(name)
        process.send_signal(sig)
        process.wait(30)

    def stop(self, within: float = 20) -> None:
        stop_processes(self.processes.values(), within=within)
        self.processes.clear()

    def exited(self) -> dict[str, int]:
        """The parts that exited while they should run, with their exit codes."""
        return {
            name: process.returncode
            for name, process in self.processes.items()
            if process.poll() is not None
        }

    def ready(self, name: str) -> bool:
        path = "/healthz" if name == "sms_mock" else "/readyz"
        try:
            return httpx.get(f"{self.part_url(name)}{path}", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, names: Iterable[str] | None = None, *, within: float = 90) -> float:
        """Seconds until every part named (every part) answers ready. Between two polls it
        waits on a process rather than sleeping, so one that exits is reported at once."""
        began = time.monotonic()
        waiting = list(names or self.commands)
        while waiting:
            if self.exited():
                raise AssertionError(
                    "\n".join(f"{n} exited {c}:\n{self.log(n)}" for n, c in self.exited().items())
                )
            waiting = [name for name in waiting if not self.ready(name)]
            if not waiting:
                break
            if time.monotonic() - began > within:
                raise AssertionError(f"not ready within {within}s: {waiting}")
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.processes[waiting[0]].wait(0.1)  # KeyError: a part never started
        return time.monotonic() - began


# --- accounts on a running install ------------------------------------------------------


def login(api: httpx.Client, username: str, password: str) -> dict[str, str]:
    answer = api.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return {"authorization": f"Bearer {answer.json()['access_token']}"}


def first_login(api: httpx.Client, username: str, given: str, own: str) -> dict[str, str]:
    """The one-time password only lets its owner set their own."""
    refused = api.post("/api/v1/auth/token", data={"username": username, "password": given})
    assert refused.status_code == 403, refused.text
    assert refused.json()["type"].endswith("password-change-required")
    changed = api.post(
        "/api/v1/auth/password",
        json={"username": username, "current_password": given, "new_password": own},
    )
    assert changed.status_code == 204, changed.text
    return login(api, username, own)
