"""A production install whose every server this run owns, so that it may kill any of
them: PostgreSQL (a cluster of its own), Redis (keeping its data as production does), the
SeaweedFS S3 server, an SMTP server, and the platform's parts as processes
(tests/cluster.py). Bootstrapped as an operator does, with a desk officer, a leader, a
specialist and citizens who registered, each with the documents a submission needs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.cluster import SECRETS, Cluster, PostgresServer, first_login, login
from tests.infra import RedisServer, S3Server, free_ports, seaweedfs
from tests.smtp import SmtpServer, SmtpSink

CENTRE = "000.00.15.H49"
LICENCE = "TTHC-20"  # Đổi giấy phép lái xe: three documents to give, an e-form
PDF = b"%PDF-1.4\n%%EOF\n" * 50
FORM = {
    "licence_number": "220123456789",
    "licence_class": "B",
}
# Every client here is one address: the front door's limits are a province's, not a test's.
UNLIMITED = {
    f"GATEWAY_RATE_{name}_{kind}": str(10**6)
    for name in ("CALLER", "ADDRESS", "LOGIN", "LOOKUP")
    for kind in ("PER_MINUTE", "BURST")
}


class S3Process:
    """The S3 server, which may be killed and started again on the same ports and data."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ports = free_ports(8)
        self._stack = contextlib.ExitStack()
        self.server: S3Server | None = None

    def start(self) -> S3Server:
        self.server = self._stack.enter_context(seaweedfs(self.folder, self.ports))
        return self.server

    def kill(self) -> None:
        assert self.server is not None
        self.server.process.kill()
        self._stack.close()
        self.server = None

    def close(self) -> None:
        self._stack.close()


@dataclass
class Citizen:
    account: str  # the account's id: a result file is issued to it
    headers: dict[str, str]
    form: dict[str, Any]
    documents: list[dict[str, Any]]  # the submission's references to uploaded files


@dataclass
class Stage:
    folder: Path
    postgres: PostgresServer
    redis: RedisServer
    s3: S3Process
    smtp: SmtpServer
    cluster: Cluster
    officers: dict[str, dict[str, str]] = field(default_factory=dict)  # position: headers
    specialist_id: str = ""
    citizens: list[Citizen] = field(default_factory=list)

    def database(self, service: str) -> str:
        """The service's database as asyncpg takes it."""
        return self.postgres.url(f"onestop_{service}").replace("+asyncpg", "")


@contextlib.contextmanager
def stage(
    folder: Path,
    *,
    citizens: int = 4,
    pool_size: int | None = 8,
    settings: dict[str, str] | None = None,
    cores: str | None = None,
) -> Iterator[Stage]:
    """``settings`` adds to the install's (a benchmark's longer token lifetime); ``cores``
    pins the platform's processes (the benchmark's servers); ``pool_size`` None keeps
    production's pools."""
    postgres = PostgresServer(max_connections=500)
    (folder / "redis").mkdir(parents=True)
    (folder / "s3").mkdir()
    redis = RedisServer(folder / "redis")
    s3 = S3Process(folder / "s3")
    smtp = SmtpServer(SmtpSink())
    cluster: Cluster | None = None
    try:
        postgres.start()
        redis.start()
        smtp.start()
        server = s3.start()
        cluster = Cluster.production(
            folder, database_url=lambda s: postgres.url(f"onestop_{s}"), redis_url=redis.url,
            s3=server, bucket="chaos", smtp_port=smtp.port, pool_size=pool_size,
            settings={**UNLIMITED, **(settings or {})}, cores=cores,
        )  # fmt: skip
        made = Stage(folder, postgres, redis, s3, smtp, cluster)
        for command in ("migrate", "bootstrap"):
            done = cluster.onestop(command)
            assert done.returncode == 0, done.stderr
        cluster.start()
        cluster.wait_ready()
        with httpx.Client(base_url=cluster.url, timeout=30) as api:
            _people(made, api, citizens)
        yield made
    finally:
        if cluster is not None:
            cluster.stop()
        smtp.stop()
        s3.close()
        redis.stop()
        postgres.close()


def _people(made: Stage, api: httpx.Client, citizens: int) -> None:
    admin = first_login(api, "admin", SECRETS["onestop_admin_password"], "admin-own-password-1")
    for position in ("desk", "leader", "specialist"):
        username = f"chaos.{position}"
        answer = api.post(
            "/api/v1/admin/officers",
            json={"username": username, "full_name": f"Cán bộ {position}",
                  "memberships": [{"agency_code": CENTRE, "position": position}]},
            headers=admin,
        )  # fmt: skip
        assert answer.status_code == 201, answer.text
        made.officers[position] = first_login(
            api, username, answer.json()["one_time_password"], f"{position}-own-password-1"
        )
        if position == "specialist":
            made.specialist_id = answer.json()["officer"]["id"]
    # The portal mock learns the catalogue, as a test install's operator gives it.
    portal = httpx.Client(base_url=made.cluster.part_url("national_portal"), timeout=30)
    with portal:
        token = portal.post(
            "/api/token", json={"username": "onestop", "password": SECRETS["portal_client_secret"]}
        ).json()["access_token"]
        catalogue = api.get("/api/v1/procedures", params={"size": 100}).json()["items"]
        known = [{"MaTTHC": p["code"], "TenTTHC": p["name"]} for p in catalogue]
        answer = portal.put(
            "/api/admin/procedures", json=known, headers={"authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200, answer.text
    procedure = api.get(f"/api/v1/procedures/{LICENCE}").json()
    needed = [
        index
        for index, requirement in enumerate(procedure["required_documents"])
        if requirement["required"] and requirement["kind"] != "presented"
    ]
    for number in range(citizens):
        id_number = f"0221990{number:05d}"
        name = f"Công Dân {number}"
        registered = api.post(
            "/api/v1/auth/register",
            json={"id_number": id_number, "full_name": name, "password": "citizen-password-1"},
        )
        assert registered.status_code == 201, registered.text
        headers = login(api, id_number, "citizen-password-1")
        # One set of files per citizen, given again with each submission (the national
        # index counts a document's reuse).
        documents = []
        for index in needed:
            uploaded = api.post(
                "/api/v1/documents", files={"file": ("tờ khai.pdf", PDF, "application/pdf")},
                headers=headers,
            )  # fmt: skip
            assert uploaded.status_code == 201, uploaded.text
            documents.append({"requirement": index, "id": uploaded.json()["id"]})
        form = {
            **FORM,
            "applicant": {"full_name": name, "id_number": id_number,
                          "contact_address": "Phường Hồng Gai, Quảng Ninh"},
        }  # fmt: skip
        made.citizens.append(Citizen(registered.json()["id"], headers, form, documents))
