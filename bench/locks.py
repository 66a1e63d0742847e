"""Officer actions on some dossiers while a service another action needs answers late.

An action that needs tracking (``receive``: the agency's working calendar) waits for
it. If that wait happens while the action holds its dossier's row lock and a pooled
database connection, enough slow actions at once take every connection of intake's
pool, and actions on *other* dossiers, which need no other service, wait in line for a
connection. Since #19 an action asks other services before it locks anything (and
holds no transaction meanwhile), so the slow ones wait alone.

The platform runs in this process on PostgreSQL (embedded composition, every service
its own database, intake's pool of ``ONESTOP_DB_POOL_SIZE`` connections). Measured, in
the same run:

- **bare**: leaders reassign received dossiers (``assign``: no other service), alone;
- **slow neighbours**: the same, while ``--slow-lanes`` desks receive other dossiers
  and tracking answers each of their calendar reads ``--delay`` seconds late.

The figure is the ratio of the two: 1.0 means a slow service costs the other actions
nothing.

    python bench/locks.py [--seconds 10] [--lanes 8] [--slow-lanes 40] [--delay 0.3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services import composition  # noqa: E402
from shared.auth import AgencyMembership, Position, Principal, Role, TokenService  # noqa: E402
from shared.settings import Mode, PlatformSettings  # noqa: E402

POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432"
PREFIX = "onestop_bench_locks_"
NAMES = ("procedures", "intake", "tracking", "documents", "gateway", "national_portal")
ENV_PREFIX = {"national_portal": "PORTAL"}
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


def configure() -> None:
    for name in NAMES:
        prefix = ENV_PREFIX.get(name, name.upper())
        os.environ[f"{prefix}_DATABASE_URL"] = f"{POSTGRES}/{PREFIX}{name}"
    os.environ.update({
        "ONESTOP_LOG_LEVEL": "WARNING",
        "GATEWAY_PORTAL_SYNC_ENABLED": "false",
        "GATEWAY_RATE_LIMITS_ENABLED": "false",
    })  # fmt: skip


async def fresh_databases() -> None:
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        for name in NAMES:
            await admin.execute(f'DROP DATABASE IF EXISTS "{PREFIX}{name}" WITH (FORCE)')
    finally:
        await admin.close()


class Desk:
    def __init__(self, client: httpx.AsyncClient, tokens: TokenService) -> None:
        self.client = client
        self.tokens = tokens
        self.documents: list[dict[str, Any]] = []

    def auth(self, subject: str, role: Role, position: Position | None = None) -> dict[str, str]:
        members = (AgencyMembership(agency_code=CENTRE, position=position),) if position else ()
        principal = Principal(subject=subject, username=subject, role=role, agencies=members)
        return {"authorization": f"Bearer {self.tokens.issue(principal)}"}

    async def prepare(self) -> None:
        citizen = self.auth("citizen-1", Role.CITIZEN)
        procedure = (await self.client.get(f"/api/v1/procedures/{LICENCE}")).json()
        for index, requirement in enumerate(procedure["required_documents"]):
            if requirement["required"] and requirement["kind"] != "presented":
                uploaded = await self.client.post(
                    "/api/v1/documents", files={"file": ("tờ khai.pdf", PDF, "application/pdf")},
                    headers=citizen,
                )  # fmt: skip
                uploaded.raise_for_status()
                self.documents.append({"requirement": index, "id": uploaded.json()["id"]})

    async def file(self, count: int) -> list[str]:
        citizen = self.auth("citizen-1", Role.CITIZEN)
        body = {"procedure_code": LICENCE, "agency_code": CENTRE, "applicant": FORM,
                "documents": self.documents}  # fmt: skip
        codes = []
        for _ in range(count):
            filed = await self.client.post("/api/v1/dossiers", json=body, headers=citizen)
            filed.raise_for_status()
            codes.append(filed.json()["code"])
        return codes

    async def act(self, code: str, action: str, headers: dict[str, str], **body: Any) -> None:
        answer = await self.client.post(
            f"/api/v1/dossiers/{code}/actions/{action}", json=body, headers=headers
        )
        if answer.status_code != 200:
            raise RuntimeError(f"{code} {action}: {answer.status_code} {answer.text}")


def slow_tracking(upstreams: Any, delay: Callable[[], float]) -> None:
    """Tracking answers ``delay()`` seconds late, and intake asks it on every action
    (its calendar memo is emptied as soon as it is filled)."""
    fetch = upstreams._fetch["tracking"]

    async def late(path: str, headers: Mapping[str, str]) -> tuple[int, bytes]:
        await asyncio.sleep(delay())
        answer: tuple[int, bytes] = await fetch(path, headers)
        return answer

    upstreams._fetch["tracking"] = late
    upstreams._calendars._ttl = 0.0


async def reassignments(desk: Desk, codes: list[str], lanes: int, seconds: float) -> float:
    """Reassignments per second by ``lanes`` leaders, each on dossiers of its own."""
    leader = desk.auth("leader-1", Role.OFFICER, Position.LEADER)
    done = 0
    deadline = time.perf_counter() + seconds

    async def lane(mine: list[str]) -> None:
        nonlocal done
        turn = 0
        while time.perf_counter() < deadline:
            code = mine[turn % len(mine)]
            await desk.act(code, "assign", leader, assignee=f"specialist-{turn % 2}")
            done += 1
            turn += 1

    started = time.perf_counter()
    await asyncio.gather(*(lane(codes[i::lanes]) for i in range(lanes)))
    return done / (time.perf_counter() - started)


async def receptions(desk: Desk, codes: list[str], lanes: int, stop: asyncio.Event) -> int:
    """Desks receiving dossiers (each needs tracking) until ``stop``; how many."""
    clerk = desk.auth("desk-1", Role.OFFICER, Position.DESK)
    queue = list(codes)
    done = 0

    async def lane() -> None:
        nonlocal done
        while queue and not stop.is_set():
            await desk.act(queue.pop(), "receive", clerk)
            done += 1

    await asyncio.gather(*(lane() for _ in range(lanes)))
    return done


async def main(args: argparse.Namespace) -> None:
    configure()
    await fresh_databases()
    with tempfile.TemporaryDirectory() as folder:
        platform = PlatformSettings(mode=Mode.EMBEDDED, data_dir=Path(folder))
        await composition.migrate(composition.SPECS, platform)
        await composition.seed(platform)
        stack = composition.EmbeddedPlatform(platform, public_url="http://gw", poll_interval=0.05)
        await stack.start()
        try:
            transport = httpx.ASGITransport(app=stack)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://gw", timeout=120
            ) as client:
                await measure(args, stack, Desk(client, TokenService.from_settings(platform)))
        finally:
            await stack.stop()


async def measure(args: argparse.Namespace, stack: Any, desk: Desk) -> None:
    await desk.prepare()
    clerk = desk.auth("desk-1", Role.OFFICER, Position.DESK)
    assigned = await desk.file(args.lanes * 4)
    for code in assigned:
        await desk.act(code, "receive", clerk)
    # Enough for the slow lanes to keep receiving for the whole run.
    waiting = await desk.file(int(args.slow_lanes * (args.seconds / args.delay + 2)))
    print(f"{len(assigned)} dossiers reassigned, {len(waiting)} waiting to be received")

    bare = await reassignments(desk, assigned, args.lanes, args.seconds)
    slow_tracking(stack.services["intake"].state.upstreams, lambda: args.delay)
    stop = asyncio.Event()
    receiving = asyncio.create_task(receptions(desk, waiting, args.slow_lanes, stop))
    await asyncio.sleep(args.delay * 2)  # the slow lanes are under way
    beside = await reassignments(desk, assigned, args.lanes, args.seconds)
    stop.set()
    received = await receiving
    print(f"bare:            {bare:8.1f} reassignments/s")
    print(f"slow neighbours: {beside:8.1f} reassignments/s  ({received} receptions "
          f"with tracking {args.delay * 1000:.0f} ms late, {args.slow_lanes} at once)")  # fmt: skip
    print(f"ratio:           {beside / bare:8.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--lanes", type=int, default=8)
    parser.add_argument("--slow-lanes", type=int, default=40)
    parser.add_argument("--delay", type=float, default=0.3)
    asyncio.run(main(parser.parse_args()))
