"""Officer actions on some dossiers while a service other actions need answers late.

An action that needs tracking (``receive``: the agency's working calendar) waits for
it. If that wait happens while the action holds its dossier's row lock and a pooled
database connection, slow actions take intake's connections, and actions on *other*
dossiers, which need no other service (a leader's ``assign``), wait in line for one.
Since #19 an action asks other services before it locks anything and holds no
transaction meanwhile, so the slow ones wait alone.

The platform runs in this process on PostgreSQL (embedded composition, every service
its own database, intake's pool of ``--pool`` connections). Leaders reassign received
dossiers for ``--seconds`` while ``--slow-lanes`` desks receive other dossiers, each
lane starting one reception every ``--delay`` seconds, in two phases of each round:

- **tracking on time**: the lanes wait between receptions, outside the request;
- **tracking late**: tracking answers ``--delay`` seconds late, inside the request.

The receptions are as many in both (printed), so the CPU they take is the same; only
where their wait happens differs. The figure is reassignments per second, late against
on time, as the median of ``--rounds`` rounds. Run it on the commit before the change
and after it to compare (``bench/RESULTS.md``).

    python bench/locks.py [--seconds 10] [--lanes 8] [--slow-lanes 40] [--delay 0.3] [--pool 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sync import CENTRE, FORM, LICENCE, PDF, fresh_databases, use_postgres  # noqa: E402
from services import bootstrap, composition  # noqa: E402
from shared.auth import AgencyMembership, Position, Principal, Role, TokenService  # noqa: E402
from shared.settings import Mode, PlatformSettings  # noqa: E402

PREFIX = "onestop_bench_locks_"


def configure(pool: int) -> None:
    """The platform's settings, through the environment its settings classes read."""
    use_postgres(PREFIX)
    os.environ.update({
        "INTAKE_DB_POOL_SIZE": str(pool),
        "ONESTOP_LOG_LEVEL": "WARNING",
        "GATEWAY_PORTAL_SYNC_ENABLED": "false",
        "GATEWAY_RATE_LIMITS_ENABLED": "false",
    })  # fmt: skip


class Desk:
    def __init__(self, client: httpx.AsyncClient, tokens: TokenService) -> None:
        self.client = client
        self.tokens = tokens
        self.documents: list[dict[str, Any]] = []
        # Whom dossiers are reassigned to: two seeded officers (intake asks the gateway's
        # accounts, which know no other).
        self.assignees: list[str] = []

    def auth(self, subject: str, role: Role, position: Position | None = None) -> dict[str, str]:
        members = (AgencyMembership(agency_code=CENTRE, position=position),) if position else ()
        principal = Principal(subject=subject, username=subject, role=role, agencies=members)
        return {"authorization": f"Bearer {self.tokens.issue(principal)}"}

    async def prepare(self) -> None:
        leader = self.auth("leader-1", Role.OFFICER, Position.LEADER)
        listed = await self.client.get(f"/api/v1/agencies/{CENTRE}/officers", headers=leader)
        listed.raise_for_status()
        by_name = {officer["username"]: officer["id"] for officer in listed.json()}
        self.assignees = [by_name["chuyenvien1"], by_name["lanhdao1"]]
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


async def reassignments(
    desk: Desk, codes: list[str], lanes: int, seconds: float
) -> tuple[float, float, float]:
    """Reassignments per second by ``lanes`` leaders, each on dossiers of its own, and
    their p50 and p95 latency in milliseconds."""
    leader = desk.auth("leader-1", Role.OFFICER, Position.LEADER)
    took: list[float] = []
    deadline = time.perf_counter() + seconds

    async def lane(mine: list[str]) -> None:
        turn = 0
        while time.perf_counter() < deadline:
            code = mine[turn % len(mine)]
            began = time.perf_counter()
            await desk.act(code, "assign", leader, assignee=desk.assignees[turn % 2])
            took.append((time.perf_counter() - began) * 1000)
            turn += 1

    started = time.perf_counter()
    await asyncio.gather(*(lane(codes[i::lanes]) for i in range(lanes)))
    took.sort()
    rate = len(took) / (time.perf_counter() - started)
    return rate, took[len(took) // 2], took[int(len(took) * 0.95)]


async def receptions(
    desk: Desk, queue: list[str], lanes: int, stop: asyncio.Event, *, every: float
) -> int:
    """Desks receiving dossiers (each asks tracking) until ``stop``, each lane starting
    one every ``every`` seconds at most; how many."""
    clerk = desk.auth("desk-1", Role.OFFICER, Position.DESK)
    done = 0

    async def lane() -> None:
        nonlocal done
        due = time.perf_counter()
        while queue and not stop.is_set():
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            due = max(due, time.perf_counter()) + every
            if not queue or stop.is_set():
                return
            await desk.act(queue.pop(), "receive", clerk)
            done += 1

    await asyncio.gather(*(lane() for _ in range(lanes)))
    return done


async def main(args: argparse.Namespace) -> None:
    configure(args.pool)
    await fresh_databases(PREFIX)
    with tempfile.TemporaryDirectory() as folder:
        platform = PlatformSettings(mode=Mode.EMBEDDED, data_dir=Path(folder))
        await composition.migrate(composition.SPECS, platform)
        await bootstrap.seed(platform)
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


async def beside(
    desk: Desk, assigned: list[str], waiting: list[str], args: argparse.Namespace
) -> tuple[tuple[float, float, float], int]:
    """Reassignments while the slow lanes receive; and how many they received."""
    stop = asyncio.Event()
    receiving = asyncio.create_task(
        receptions(desk, waiting, args.slow_lanes, stop, every=args.delay)
    )
    await asyncio.sleep(args.delay * 2)  # the receiving lanes are under way
    measured = await reassignments(desk, assigned, args.lanes, args.seconds)
    stop.set()
    return measured, await receiving


async def measure(args: argparse.Namespace, stack: Any, desk: Desk) -> None:
    await desk.prepare()
    clerk = desk.auth("desk-1", Role.OFFICER, Position.DESK)
    assigned = await desk.file(args.lanes * 4)
    for code in assigned:
        await desk.act(code, "receive", clerk)
    # Enough for the receiving lanes to go on for every round.
    per_round = int(args.slow_lanes * (args.seconds / args.delay + 3))
    waiting = await desk.file(per_round * 2 * args.rounds)
    print(f"{len(assigned)} dossiers reassigned, {len(waiting)} to receive; intake's pool "
          f"{args.pool} connections, {args.slow_lanes} receiving lanes")  # fmt: skip
    delay = {"seconds": 0.0}
    slow_tracking(stack.services["intake"].state.upstreams, lambda: delay["seconds"])
    results: dict[str, list[tuple[float, float, float]]] = {"on time": [], "late": []}
    for _ in range(args.rounds):
        # The same receptions at the same pace, one per lane every ``delay``: the wait
        # is outside the request (tracking on time) or inside it (tracking late).
        delay["seconds"] = 0.0
        measured, on_time = await beside(desk, assigned, waiting, args)
        results["on time"].append(measured)
        delay["seconds"] = args.delay
        measured, late = await beside(desk, assigned, waiting, args)
        results["late"].append(measured)
        print(f"  round: {on_time} receptions with tracking on time, {late} with it late")
    medians = {}
    for label, runs in results.items():
        rate, p50, p95 = (statistics.median(run[i] for run in runs) for i in range(3))
        medians[label] = rate
        print(f"tracking {label:<8} {rate:8.1f} reassignments/s   p50 {p50:7.1f} ms   "
              f"p95 {p95:7.1f} ms   (median of {len(runs)})")  # fmt: skip
    print(f"ratio (late / on time): {medians['late'] / medians['on time']:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--lanes", type=int, default=8)
    parser.add_argument("--slow-lanes", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--delay", type=float, default=0.3)
    parser.add_argument("--pool", type=int, default=20, help="intake's database connections")
    asyncio.run(main(parser.parse_args()))
