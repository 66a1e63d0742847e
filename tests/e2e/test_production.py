"""A production install as an operator makes it: every service, the relay and the
consumers as processes of their own with production settings and secrets in files,
`onestop migrate` and `onestop bootstrap` (no demo data), the first admin, officers made
through the admin API, and a dossier from a registered citizen to the national portal."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from tests import cluster
from tests.cluster import Cluster, first_login, login
from tests.conftest import SERVERS, _admin, _database_url
from tests.infra import S3Server
from tests.smtp import SmtpServer, SmtpSink

pytestmark = pytest.mark.slow

SERVICES = cluster.SERVICES
SECRETS = cluster.SECRETS
CENTRE = "000.00.15.H49"
LICENCE = "TTHC-20"  # Đổi giấy phép lái xe: 5 working days, online
PDF = b"%PDF-1.4\n%%EOF\n" * 50


@dataclass
class Install:
    cluster: Cluster
    api: httpx.Client = field(init=False)  # the gateway
    portal: httpx.Client = field(init=False)  # the national portal mock

    def __post_init__(self) -> None:
        self.api = httpx.Client(base_url=self.url, timeout=30)
        self.portal = httpx.Client(base_url=self.portal_url, timeout=30)

    @property
    def url(self) -> str:
        return self.cluster.url

    @property
    def portal_url(self) -> str:
        return self.cluster.part_url("national_portal")

    @property
    def env(self) -> dict[str, str]:
        return self.cluster.env

    @property
    def workers(self) -> dict[str, str]:
        """The relay's, the consumers' and the portal sync's health endpoints."""
        return {name: self.cluster.part_url(name) for name in cluster.WORKERS}

    def close(self) -> None:
        self.api.close()
        self.portal.close()

    def onestop(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.cluster.onestop(*args)


async def _drop(names: list[str]) -> None:
    admin = await _admin()
    try:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _wait(check: Callable[[], bool], what: str, install: Install, within: float = 90.0) -> None:
    """Until ``check()``, polled from this synchronous test. Between two polls it waits
    for the gateway's process rather than sleeping (as tests/onestop.py does), so that
    an install that falls over is reported at once, not after ``within``."""
    deadline = time.monotonic() + within
    parts = install.cluster
    while time.monotonic() < deadline:
        for name, code in parts.exited().items():
            raise AssertionError(f"{name} exited {code}:\n{parts.log(name)}")
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        with contextlib.suppress(subprocess.TimeoutExpired):
            parts.processes["gateway"].wait(0.3)
    raise AssertionError(f"not {what} within {within}s")


@pytest.fixture
def install(tmp_path: Path, s3_server: S3Server) -> Iterator[Install]:
    run = uuid.uuid4().hex[:8]
    databases = {service: f"onestop_prod_{run}_{service}" for service in SERVICES}
    # The event streams of this test worker's Redis database start empty, as a new
    # install's do (an earlier test's consumer groups would hand over its events).
    redis.Redis.from_url(SERVERS.redis_url).flushdb()
    smtp = SmtpServer(SmtpSink())
    smtp.start()
    parts = Cluster.production(
        tmp_path, database_url=lambda service: _database_url(databases[service]),
        redis_url=SERVERS.redis_url, s3=s3_server, bucket=f"prod-{run}", smtp_port=smtp.port,
    )  # fmt: skip
    made = Install(parts)
    try:
        migrated = made.onestop("migrate")
        assert migrated.returncode == 0, migrated.stderr
        parts.start()
        yield made
    finally:
        made.close()
        parts.stop()
        smtp.stop()
        asyncio.run(_drop(list(databases.values())))


def _health(install: Install) -> bool:
    answer = httpx.get(f"{install.url}/api/v1/health", timeout=5)
    workers = [install.cluster.ready(name) for name in cluster.WORKERS]
    return answer.json()["status"] == "ok" and all(workers)


def metric(url: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """A metric's samples on ``url``/metrics, by their sorted labels."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def act(api: httpx.Client, code: str, action: str, who: dict[str, str], **body: Any) -> Any:
    answer = api.post(f"/api/v1/dossiers/{code}/actions/{action}", json=body, headers=who)
    assert answer.status_code == 200, answer.text
    return answer.json()


def upload(api: httpx.Client, who: dict[str, str], name: str, **data: str) -> str:
    path = "/api/v1/documents/results" if data else "/api/v1/documents"
    answer = api.post(
        path, data=data or None, files={"file": (name, PDF, "application/pdf")}, headers=who
    )
    assert answer.status_code == 201, answer.text
    document_id: str = answer.json()["id"]
    return document_id


def test_a_production_install_bootstraps_and_takes_a_dossier_to_the_portal(
    install: Install,
) -> None:
    # Migrated, not bootstrapped: the services run on empty databases.
    _wait(lambda: _health(install), "healthy", install)
    api = install.api
    assert api.get("/api/v1/procedures").json()["total"] == 0
    # The workers answer their probes: each service they run a part of is reachable.
    relay = httpx.get(f"{install.workers['relay']}/readyz").json()
    # (Each that has an outbox: notifications only consumes.)
    assert set(relay["services"]) == {"procedures", "intake", "tracking", "documents",
                                      "gateway"}  # fmt: skip
    assert relay["jobs_stopped"] == 0
    # The portal sync is a worker of its own: the gateway's consumers only.
    sync = httpx.get(f"{install.workers['sync']}/readyz").json()
    assert set(sync["services"]) == {"gateway"}
    assert httpx.get(f"{install.workers['consume']}/healthz").json() == {
        "status": "ok", "jobs_stopped": 0,
    }  # fmt: skip

    booted = install.onestop("bootstrap")
    assert booted.returncode == 0, booted.stderr
    assert "procedures: agencies +11, procedures +33" in booted.stdout
    assert "admin: admin created" in booted.stdout
    again = install.onestop("bootstrap")
    assert again.returncode == 0, again.stderr
    assert "procedures: agencies +0, procedures +0, offers +0" in again.stdout
    assert "admin: one exists already, none created" in again.stdout
    # Production never takes the demo data, nor the portal mock's list.
    seeded = install.onestop("seed")
    assert (seeded.returncode, seeded.stderr.strip()) == (
        1, "onestop: refused: demo data is never loaded in production",
    )  # fmt: skip
    assert api.post("/api/v1/auth/token", data={"username": "canbo1", "password": "canbo-demo"}
                    ).status_code == 401  # fmt: skip

    admin = first_login(api, "admin", SECRETS["onestop_admin_password"], "admin-own-password-1")
    # The desk officer from the command line (through the admin API), the others by the API.
    added = install.onestop(
        "officers", "add", "motcua.an", "--name", "Nguyễn Văn An",
        "--agency", f"{CENTRE}:desk", "--url", install.url,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    desk_password = added.stdout.split("one-time password: ")[1].strip()
    people = {}
    for username, position in (("chuyenvien.binh", "specialist"), ("lanhdao.cuong", "leader")):
        made = api.post(
            "/api/v1/admin/officers",
            json={"username": username, "full_name": username.title(),
                  "memberships": [{"agency_code": CENTRE, "position": position}]},
            headers=admin,
        )  # fmt: skip
        assert made.status_code == 201, made.text
        people[username] = made.json()
    desk = first_login(api, "motcua.an", desk_password, "desk-own-password-1")
    specialist = first_login(
        api, "chuyenvien.binh", people["chuyenvien.binh"]["one_time_password"], "spec-password-1"
    )
    leader = first_login(
        api, "lanhdao.cuong", people["lanhdao.cuong"]["one_time_password"], "lead-password-1"
    )
    listed = install.onestop("officers", "list", "--agency", CENTRE, "--url", install.url)
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [
        "chuyenvien.binh", "lanhdao.cuong", "motcua.an",
    ]  # fmt: skip

    # The national portal knows the country's procedures; its mock here learns the
    # catalogue's, as an operator's test install would give them to it.
    portal = install.portal
    token = portal.post(
        "/api/token", json={"username": "onestop", "password": SECRETS["portal_client_secret"]}
    ).json()["access_token"]
    portal.headers["authorization"] = f"Bearer {token}"
    catalogue = api.get("/api/v1/procedures", params={"size": 100}).json()["items"]
    known = [{"MaTTHC": p["code"], "TenTTHC": p["name"]} for p in catalogue]
    assert len(known) == 33
    assert portal.put("/api/admin/procedures", json=known).status_code == 200

    # A citizen registers (no demo citizens here) and submits online.
    registered = api.post(
        "/api/v1/auth/register",
        json={"id_number": "022199001234", "full_name": "Trần Thị Bình",
              "password": "citizen-password-1"},
    )  # fmt: skip
    assert registered.status_code == 201, registered.text
    citizen = login(api, "022199001234", "citizen-password-1")
    procedure = api.get(f"/api/v1/procedures/{LICENCE}").json()
    documents = [
        {"requirement": index, "id": upload(api, citizen, "tờ khai.pdf")}
        for index, requirement in enumerate(procedure["required_documents"])
        if requirement["required"] and requirement["kind"] != "presented"
    ]
    submitted = api.post(
        "/api/v1/dossiers",
        json={
            "procedure_code": LICENCE, "agency_code": CENTRE, "documents": documents,
            "applicant": {
                "applicant": {"full_name": "Trần Thị Bình", "id_number": "022199001234",
                              "contact_address": "Phường Hồng Gai, Quảng Ninh"},
                "licence_number": "220123456789", "licence_class": "B",
            },
        },
        headers={**citizen, "idempotency-key": str(uuid.uuid4())},
    )  # fmt: skip
    assert submitted.status_code == 201, submitted.text
    code = submitted.json()["code"]

    act(api, code, "receive", desk)
    # Tracking counts it among the open dossiers (it hears of it over Redis).
    tracking = install.env["GATEWAY_TRACKING_URL"]
    _wait(lambda: sum(metric(tracking, "onestop_dossiers_open").values()) == 1, "counted",
          install)  # fmt: skip
    act(api, code, "assign", leader, assignee=people["chuyenvien.binh"]["officer"]["id"])
    owner = registered.json()["id"]
    result = upload(api, specialist, "giấy phép.pdf", owner=owner, dossier_code=code,
                    agency_code=CENTRE)  # fmt: skip
    act(api, code, "resolve", specialist, result_documents=[result])
    final = act(api, code, "return", desk)
    assert (final["status"], final["portal_status"]) == ("returned", 10)

    # The portal sync worker takes it to the national portal.
    def at_the_portal() -> bool:
        held = portal.post("/api/TraCuuHoSo", json={"MaHoSo": code}).json()
        return held.get("HoSo") is not None and held["HoSo"].get("TrangThaiHoSo") == 10

    _wait(at_the_portal, "at the portal as returned", install, within=60)

    # The citizen was told on the inbox (the notifications service, over Redis).
    def told() -> bool:
        inbox = api.get("/api/v1/notifications", headers=citizen).json()
        return {"received", "returned"} <= {i["kind"] for i in inbox["items"]}

    _wait(told, "told", install, within=60)

    # What Prometheus reads: requests by route, backlogs, lags, dead letters.
    actions = metric(install.env["GATEWAY_INTAKE_URL"], "onestop_http_requests_total")
    route = "/api/v1/dossiers/{code}/actions/{action}"
    assert actions[(("method", "POST"), ("route", route), ("service", "intake"),
                    ("status", "200"))] == 4  # fmt: skip
    gateway = metric(install.url, "onestop_http_requests_total")

    def forwarded(status: str) -> float:
        return gateway[(("method", "POST"), ("route", "forward:intake"), ("service", "gateway"),
                        ("status", status))]  # fmt: skip

    assert (forwarded("201"), forwarded("200")) == (1, 4)  # the submission, the four actions
    # Nothing left owed once the last steps are sent (a step may still be on its way).
    _wait(lambda: metric(install.url, "onestop_portal_sync_owed") == {(): 0.0}, "synced",
          install)  # fmt: skip
    consumers = install.workers["consume"]
    assert set(metric(consumers, "onestop_dead_letters").values()) == {0.0}
    lags = metric(consumers, "onestop_consumer_lag")
    assert (("group", "tracking.dossiers"), ("topic", "dossier")) in lags
    inbox = metric(consumers, "onestop_notifications_messages")
    assert sum(v for k, v in inbox.items() if ("channel", "inbox") in k) >= 2
    outbox = metric(install.workers["relay"], "onestop_outbox_backlog")
    relayed = ("procedures", "intake", "tracking", "documents", "gateway")
    assert set(outbox) == {(("service", service),) for service in relayed}
    # Not for the world: through a proxy (the Ingress adds the header) it is not there.
    hidden = httpx.get(f"{install.url}/metrics", headers={"x-forwarded-for": "203.0.113.9"})
    assert hidden.status_code == 404

    # The officer leaves: deactivated from the command line, their logins end.
    gone = install.onestop("officers", "deactivate", "motcua.an", "--url", install.url)
    assert gone.returncode == 0, gone.stderr
    assert "inactive" in gone.stdout
    assert api.get(f"/api/v1/queues/{CENTRE}", headers=desk).status_code == 401
    audited = install.onestop("audit")
    assert audited.returncode == 0, audited.stderr
    assert audited.stdout.strip().endswith("0 problems")
