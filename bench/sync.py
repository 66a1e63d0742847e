"""The sync to the national portal: dossiers synced per second and the sync lag, with and
without injected faults, against a bare baseline in the same run.

The platform runs in this process on PostgreSQL (every service its own database, the
in-process event bus, the portal mock in-process behind its fault injector). First
``--dossiers`` dossiers are filed and taken to their final status with the sync off
(four in five received, assigned, resolved and returned; one in five refused): the
portal is owed all of them, every version and every step. Then, each from an empty
portal:

- **bare**: the same DongBoHoSoMC and CapNhatTienDoHoSoMC bodies, built beforehand,
  sent straight to the portal with the sync's own client and as many lanes: what the
  portal and the transport allow, without the sync's reads and bookkeeping;
- **sync**: the sync worker drains the backlog (reads each dossier from intake, sends
  what the portal lacks, records it);
- **sync + faults**: the same with the portal failing 20 % of calls, timing out 5 % and
  dropping the answer of 5 % after storing it.

After each sync run the portal must hold every dossier once, at its version, with one
progress step per audit entry, and nothing may be dead-lettered. Then the lag, live:
``--live`` more dossiers are driven through their lifecycle while the sync runs, without
and with faults; the lag is, per dossier, the time from its last change to the portal's
acknowledgement.

    python bench/sync.py [--dossiers 2000] [--live 300] [--lanes 16]
    python bench/sync.py --dossiers 0          # the lag only
    python bench/sync.py --dossiers 0 --pace 2 # the lag at a steady 2 dossiers a second
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, func, select, update  # noqa: E402

from services import bootstrap, composition  # noqa: E402
from services.gateway import national, sync  # noqa: E402
from services.gateway.models import PortalSync  # noqa: E402
from services.gateway.portal_client import PortalClient  # noqa: E402
from services.national_portal.models import PortalDossier, PortalProgress  # noqa: E402
from shared.auth import AgencyMembership, Position, Principal, Role, TokenService  # noqa: E402
from shared.contracts.national import NationalRecord  # noqa: E402
from shared.faults import Faults  # noqa: E402
from shared.settings import Mode, PlatformSettings  # noqa: E402

POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432"
PREFIX = "onestop_bench_sync_"
CENTRE = "000.00.15.H49"
LICENCE = "TTHC-20"
FORM = {
    "applicant": {
        "full_name": "Trần Thị Bình",
        "id_number": "001099000001",
        "contact_address": "Phường Hồng Gai, Quảng Ninh",
    },
    "licence_number": "220123456789",
    "licence_class": "B",
}
PDF = b"%PDF-1.4\n%%EOF\n" * 50
FAULTS = {"fail_share": 0.2, "timeout_share": 0.05, "drop_share": 0.05}


# Each service's settings prefix (its ``<PREFIX>_DATABASE_URL``).
SERVICE_PREFIXES = {
    "procedures": "PROCEDURES",
    "intake": "INTAKE",
    "tracking": "TRACKING",
    "documents": "DOCUMENTS",
    "gateway": "GATEWAY",
    "notifications": "NOTIFICATIONS",
    "national_portal": "PORTAL",
}


def use_postgres(database_prefix: str) -> None:
    """Every service on a PostgreSQL database of its own, named ``database_prefix`` and
    the service: the settings classes read these when the platform is composed."""
    for name, prefix in SERVICE_PREFIXES.items():
        os.environ[f"{prefix}_DATABASE_URL"] = f"{POSTGRES}/{database_prefix}{name}"


async def fresh_databases(database_prefix: str = PREFIX) -> None:
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        for name in SERVICE_PREFIXES:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database_prefix}{name}" WITH (FORCE)')
    finally:
        await admin.close()


def configure(lanes: int) -> None:
    """Every service on PostgreSQL; short time-outs so that a faulty run ends soon."""
    use_postgres(PREFIX)
    os.environ.update({
        "ONESTOP_LOG_LEVEL": "WARNING",
        "GATEWAY_PORTAL_SYNC_ENABLED": "false",  # the bench runs the worker itself
        "GATEWAY_PORTAL_SYNC_CONCURRENCY": str(lanes),
        "GATEWAY_PORTAL_SYNC_POLL_SECONDS": "0.05",
        "GATEWAY_PORTAL_TIMEOUT_SECONDS": "1.0",
        "PORTAL_TIMEOUT_SECONDS": "1.5",
        "GATEWAY_PORTAL_RETRY_BASE_SECONDS": "0.05",
        "GATEWAY_PORTAL_RETRY_CAP_SECONDS": "2",
        "GATEWAY_PORTAL_RETRY_BUDGET": "30",
        # One desk officer files thousands of actions here: out of the limits' reach.
        "GATEWAY_RATE_CALLER_PER_MINUTE": str(10**9),
        "GATEWAY_RATE_CALLER_BURST": str(10**6),
        "GATEWAY_RATE_ADDRESS_PER_MINUTE": str(10**9),
        "GATEWAY_RATE_ADDRESS_BURST": str(10**6),
    })  # fmt: skip


class Driver:
    """Files dossiers and takes them to a final status through the gateway."""

    def __init__(self, client: httpx.AsyncClient, tokens: TokenService) -> None:
        self.client = client
        self._tokens = tokens
        self.documents: list[dict[str, Any]] = []
        self.officer_ids: dict[str, str] = {}  # the seeded officers' accounts, by username

    def _auth(self, principal: Principal) -> dict[str, str]:
        # Issued per call: the bench outlasts a token's 15 minutes.
        return {"authorization": f"Bearer {self._tokens.issue(principal)}"}

    def _officer(self, subject: str, position: Position) -> dict[str, str]:
        member = AgencyMembership(agency_code=CENTRE, position=position)
        return self._auth(Principal(subject=subject, username=subject, role=Role.OFFICER,
                                    agencies=(member,)))  # fmt: skip

    @property
    def citizen(self) -> dict[str, str]:
        return self._auth(Principal(subject="citizen-1", username="c", role=Role.CITIZEN))

    @property
    def desk(self) -> dict[str, str]:
        return self._officer("desk-1", Position.DESK)

    @property
    def leader(self) -> dict[str, str]:
        return self._officer("leader-1", Position.LEADER)

    @property
    def specialist(self) -> dict[str, str]:
        return self._officer(self.officer_ids["chuyenvien1"], Position.SPECIALIST)

    async def prepare(self) -> None:
        """The seeded officers' ids (a dossier is assigned to an account the gateway
        knows), and the citizen's files, uploaded once and reused by every dossier."""
        listed = await self.client.get(f"/api/v1/agencies/{CENTRE}/officers", headers=self.desk)
        listed.raise_for_status()
        self.officer_ids = {officer["username"]: officer["id"] for officer in listed.json()}
        procedure = (await self.client.get(f"/api/v1/procedures/{LICENCE}")).json()
        for index, requirement in enumerate(procedure["required_documents"]):
            if requirement["required"] and requirement["kind"] != "presented":
                uploaded = await self.client.post(
                    "/api/v1/documents", files={"file": ("tờ khai.pdf", PDF, "application/pdf")},
                    headers=self.citizen,
                )  # fmt: skip
                uploaded.raise_for_status()
                self.documents.append({"requirement": index, "id": uploaded.json()["id"]})

    async def dossier(self, index: int) -> str:
        filed = await self.client.post("/api/v1/dossiers", json={
            "procedure_code": LICENCE, "agency_code": CENTRE, "applicant": FORM,
            "documents": self.documents,
        }, headers=self.citizen)  # fmt: skip
        filed.raise_for_status()
        code: str = filed.json()["code"]
        if index % 5 == 0:
            await self.act(code, "refuse", self.desk, reason="Không thuộc thẩm quyền")
            return code
        await self.act(code, "receive", self.desk)
        await self.act(code, "assign", self.leader, assignee=self.officer_ids["chuyenvien1"])
        result = await self.client.post(
            "/api/v1/documents/results",
            data={"owner": "citizen-1", "dossier_code": code, "agency_code": CENTRE},
            files={"file": ("kết quả.pdf", PDF, "application/pdf")},
            headers=self.specialist,
        )
        result.raise_for_status()
        await self.act(code, "resolve", self.specialist, result_documents=[result.json()["id"]])
        await self.act(code, "return", self.desk)
        return code

    async def act(self, code: str, action: str, headers: dict[str, str], **body: Any) -> None:
        response = await self.client.post(
            f"/api/v1/dossiers/{code}/actions/{action}", json=body, headers=headers
        )
        if response.status_code != 200:
            raise RuntimeError(f"{code} {action}: {response.status_code} {response.text}")

    async def many(self, count: int, start: int, lanes: int = 16) -> list[str]:
        gate = asyncio.Semaphore(lanes)

        async def one(index: int) -> str:
            async with gate:
                return await self.dossier(index)

        return list(await asyncio.gather(*(one(start + i) for i in range(count))))

    async def paced(self, count: int, start: int, per_second: float) -> list[str]:
        """A dossier filed every 1/``per_second`` s, each taken through its lifecycle on
        its own (as citizens and desks do), however many are under way."""
        began = time.perf_counter()
        under_way = []
        for i in range(count):
            await asyncio.sleep(max(began + i / per_second - time.perf_counter(), 0))
            under_way.append(asyncio.create_task(self.dossier(start + i)))
        return list(await asyncio.gather(*under_way))


async def lanes_over(items: list[Any], lanes: int, work: Callable[[Any], Awaitable[None]]) -> None:
    queue = list(reversed(items))

    async def lane() -> None:
        while queue:
            await work(queue.pop())

    await asyncio.gather(*(lane() for _ in range(lanes)))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(int(share * len(ordered) + 0.999999) - 1, 0)]


class Bench:
    """The running platform's sync, its portal, and the checks after each run."""

    def __init__(self, stack: composition.EmbeddedPlatform) -> None:
        self.stack = stack
        self.gateway = stack.gateway.api.state.runtime
        self.portal_db = stack.portal.state.runtime.db
        self.worker, self.portal = sync.worker_for(self.gateway)

    def faults(self, faults: dict[str, float]) -> None:
        self.stack.portal.state.faults.faults = Faults.model_validate(faults)

    async def reset(self) -> None:
        """An empty portal, and every dossier owed from scratch."""
        async with self.portal_db.session() as session:
            await session.execute(delete(PortalProgress))
            await session.execute(delete(PortalDossier))
        async with self.gateway.db.session() as session:
            await session.execute(update(PortalSync).values(
                owed=True, sent_version=0, sent_steps=0, attempts=0, dead_at=None,
                last_error=None, next_attempt_at=func.now(), owed_since=func.now(),
                lag_seconds=None))  # fmt: skip

    async def quiet(self) -> None:
        """Until every event has been relayed and applied (this process runs them all: a
        run measured beside a backlog of consumers would measure them too)."""
        calm = 0
        while calm < 10:
            calm = calm + 1 if self.stack.bus.backlog() == 0 else 0
            await asyncio.sleep(0.1)

    async def owed(self) -> int:
        alive = (PortalSync.owed, PortalSync.dead_at.is_(None))
        async with self.gateway.db.read_session() as session:
            return int(await session.scalar(select(func.count()).where(*alive)) or 0)

    async def check(self, label: str, wanted: list[str]) -> None:
        """Each of ``wanted`` at the portal once, at intake's version, one step an entry."""
        held: dict[str, tuple[int, int]] = {}
        after = None
        while True:
            page = await self.portal.held(after=after, limit=5000)
            held.update((h.MaHoSo, (h.PhienBan, h.SoBuocXuLy)) for h in page.items)
            if page.next_after is None:
                break
            after = page.next_after
        versions: dict[str, int] = {}
        after = None
        while True:
            listing = await self.worker.versions(after=after, limit=5000)
            versions.update((v.code, v.version) for v in listing.items)
            if listing.next_after is None:
                break
            after = listing.next_after
        wrong = [code for code in wanted if held.get(code) != (versions[code],) * 2]
        async with self.gateway.db.read_session() as session:
            status = await sync.status(session, now=datetime.now(UTC))
        async with self.portal_db.read_session() as session:
            received = await session.scalar(select(func.sum(PortalDossier.received)))
        steps = sum(s for _, s in held.values())
        print(f"  {label}: the portal holds {len(held)} dossiers and {steps} steps, "
              f"{len(wrong)} wrong; {status.dead_letters} dead-lettered; "
              f"{received} upserts received")  # fmt: skip
        if wrong or status.dead_letters:
            raise SystemExit(f"{label}: the sync lost or repeated something: {wrong[:5]}")

    async def bare(self, records: list[NationalRecord], lanes: int) -> float:
        """The bodies sent straight to the portal: dossiers per second. No faults, so no
        time-out short enough to cut a slow call."""
        await self.reset()
        settings = self.gateway.settings
        portal = PortalClient(
            self.gateway.clients["national_portal"],
            client_id=settings.portal_client_id,
            client_secret=settings.portal_client_secret.get_secret_value(),
            timeout_seconds=60,
        )

        async def send(record: NationalRecord) -> None:
            await portal.call("DongBoHoSoMC", national.dossier_body(record, updating=False))
            for step in record.steps:
                await portal.call("CapNhatTienDoHoSoMC", national.progress_body(record, step, {}))

        began = time.perf_counter()
        await lanes_over(records, lanes, send)
        return len(records) / (time.perf_counter() - began)

    async def backlog(self, label: str, codes: list[str], faults: dict[str, float]) -> float:
        """The sync worker, as it runs in production, drains every dossier owed:
        dossiers per second."""
        await self.reset()
        self.faults(faults)
        stop = asyncio.Event()
        began = time.perf_counter()
        running = asyncio.create_task(self.worker.run(stop))
        while await self.owed():  # noqa: ASYNC110 - polling the worker's table
            await asyncio.sleep(0.05)
        rate = len(codes) / (time.perf_counter() - began)
        stop.set()
        await running
        self.faults({})
        await self.check(label, codes)
        return rate

    async def live(self, drive: Callable[[], Awaitable[list[str]]], faults: dict[str, float]
                   ) -> tuple[list[float], float, list[str]]:  # fmt: skip
        """Dossiers driven while the sync runs: each one's lag, and how long after the
        last action the sync was done."""
        self.faults(faults)
        stop = asyncio.Event()
        running = asyncio.create_task(self.worker.run(stop))
        codes = await drive()
        ended = time.perf_counter()
        await self.quiet()
        while await self.owed():  # noqa: ASYNC110 - polling another component's table
            await asyncio.sleep(0.05)
        drained = time.perf_counter() - ended
        stop.set()
        await running
        self.faults({})
        async with self.gateway.db.read_session() as session:
            lags = await session.scalars(
                select(PortalSync.lag_seconds).where(PortalSync.code.in_(codes))
            )
            return [lag for lag in lags if lag is not None], drained, codes


async def main(args: argparse.Namespace) -> None:
    configure(args.lanes)
    await fresh_databases()
    with tempfile.TemporaryDirectory() as folder:
        platform = PlatformSettings(mode=Mode.EMBEDDED, data_dir=Path(folder))
        await composition.migrate(composition.SPECS, platform)
        await bootstrap.seed(platform)
        stack = composition.EmbeddedPlatform(platform, public_url="http://gw", poll_interval=0.05)
        await stack.start()
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=stack), base_url="http://gw", timeout=60
            ) as client:
                await measure(
                    args, Bench(stack), Driver(client, TokenService.from_settings(platform))
                )
        finally:
            await stack.stop()


async def measure(args: argparse.Namespace, bench: Bench, driver: Driver) -> None:
    await driver.prepare()
    if args.dossiers:
        await backlogs(args, bench, driver)
    if not args.live:
        return
    how = f"one filed every {1 / args.pace:.2f} s" if args.pace else f"{args.lanes} at once"
    print(f"\nlive: {args.live} dossiers driven through their lifecycle, {how}, while the "
          "sync runs; lag = last change to the portal's answer")  # fmt: skip
    print(f"{'run':<16}{'p50 s':>8}{'p95 s':>8}{'p99 s':>8}{'max s':>8}{'done after s':>14}")
    start = args.dossiers
    for label, faults in (("no faults", {}), ("faults", FAULTS)):
        drive = (
            functools.partial(driver.paced, args.live, start, args.pace)
            if args.pace
            else functools.partial(driver.many, args.live, start, args.lanes)
        )
        lags, drained, live = await bench.live(drive, faults)
        start += args.live
        print(f"{label:<16}{percentile(lags, 0.5):>8.2f}{percentile(lags, 0.95):>8.2f}"
              f"{percentile(lags, 0.99):>8.2f}{max(lags):>8.2f}{drained:>14.2f}")  # fmt: skip
        await bench.check(label, live)


async def backlogs(args: argparse.Namespace, bench: Bench, driver: Driver) -> None:
    """Dossiers per second: bare, the sync, the sync under faults."""
    began = time.perf_counter()
    codes = await driver.many(args.dossiers, start=0)
    print(f"{len(codes)} dossiers filed and finished in {time.perf_counter() - began:.1f} s "
          "(setup, not measured)")  # fmt: skip
    await bench.quiet()
    records = [await bench.worker._record(code) for code in codes]
    steps = sum(len(r.steps) for r in records)
    calls = len(records) + steps
    print(f"backlog: {len(records)} dossiers, {steps} progress steps "
          f"({steps / len(records):.1f} a dossier), {args.lanes} lanes")  # fmt: skip
    rates = {"bare": await bench.bare(records, args.lanes)}
    rates["sync"] = await bench.backlog("sync", codes, {})
    rates["sync + faults"] = await bench.backlog("sync + faults", codes, FAULTS)
    print(f"\n{'run':<16}{'dossiers/s':>11}{'calls/s':>10}{'× bare':>8}")
    for label, rate in rates.items():
        print(f"{label:<16}{rate:>11.1f}{rate * calls / len(records):>10.1f}"
              f"{rate / rates['bare']:>8.2f}")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dossiers", type=int, default=2000, help="the backlog (0: only the live lag)"
    )
    parser.add_argument("--live", type=int, default=300)
    parser.add_argument("--lanes", type=int, default=16)
    parser.add_argument(
        "--pace", type=float, default=0.0,
        help="live dossiers filed per second, each on its own (0: --lanes at once, flat out)",
    )  # fmt: skip
    asyncio.run(main(parser.parse_args()))
