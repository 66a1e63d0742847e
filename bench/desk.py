"""The officers' queue page over 1,000,000 dossiers against the queue API call underneath.

Distributed mode, each service its own process (``onestop serve``) on core 1: the gateway
with the web pages, intake over intake's benchmark data (``bench/intake.py``: 1,000,000
dossiers over 20 agencies, the measured one, canbo1's centre, holding 100,000 of which
40,000 open), procedures and tracking with the demo catalogue and calendars. The bench
client runs on core 0 and asks, in turn, the page ``/can-bo`` (logged in as canbo1 with
the web form) and the API call it is built on (``GET /api/v1/queues/{agency}?limit=20``
through the gateway, with canbo1's token): the first page (with its counts per
timeliness) and then pages deeper by the keyset cursor, the page with the same cursor
the API gave. One request at a time, so that each figure is the latency a clicking
officer sees rather than a queue behind other requests; page and API alternate, so a
slow moment of the machine falls on both. The issue's goal: the page's p99 at most
twice the API's, and under 100 ms.

    python bench/desk.py [--rounds 100] [--depth 10] [--dossiers 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.intake import (  # noqa: E402
    CENTRE,
    LOAD_CORE,
    database_url,
    environment,
    fresh_databases,
    load_dossiers,
    percentile,
    processes,
)
from bench.web import logins  # noqa: E402
from tests.infra import free_ports, wait_for_port  # noqa: E402

OFFICER, PASSWORD = "canbo1", "canbo-demo"
SERVED = ("procedures", "tracking", "intake", "gateway")
# The queue page's size (services/web/pages/desk.py QUEUE_SIZE): the API asked the same.
PAGE_SIZE = 20
FILTERS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    # name: (the page's query, the API's query)
    "all open": ({}, {}),
    "overdue": ({"tien-do": "overdue"}, {"timeliness": "overdue"}),
    "processing": ({"trang-thai": "processing"}, {"status": "processing"}),
}


async def seed_accounts() -> None:
    from services.bootstrap import SEEDS
    from shared.db import Database

    database = Database(database_url("gateway"))
    async with database.session() as session:
        await SEEDS["gateway"].load(session)
    await database.dispose()


class Timer:
    """One request at a time; the seconds each took, page and API apart."""

    def __init__(self, client: httpx.AsyncClient, cookie: str, bearer: str) -> None:
        self.client = client
        self.cookie = cookie
        self.bearer = bearer
        self.page: dict[str, list[float]] = {"first": [], "later": []}
        self.api: dict[str, list[float]] = {"first": [], "later": []}

    async def timed(self, url: str, params: dict[str, str], header: dict[str, str]) -> Any:
        began = time.perf_counter()
        response = await self.client.get(url, params=params, headers=header)
        took = time.perf_counter() - began
        if response.status_code != 200:
            raise RuntimeError(f"{url} {params}: {response.status_code} {response.text[:300]}")
        return took, response

    async def round(self, query: dict[str, str], api_query: dict[str, str], depth: int) -> None:
        cursor: str | None = None
        for level in range(depth + 1):
            kind = "first" if level == 0 else "later"
            page_params = {**query, **({"sau": cursor} if cursor else {})}
            api_params = {**api_query, "limit": str(PAGE_SIZE),
                          **({"cursor": cursor} if cursor else {})}  # fmt: skip
            took, shown = await self.timed("/can-bo", page_params, {"cookie": self.cookie})
            if "ho-so" not in shown.text:
                raise RuntimeError("the queue page lists no dossier")
            self.page[kind].append(took)
            took, answered = await self.timed(
                f"/api/v1/queues/{CENTRE}", api_params, {"authorization": self.bearer}
            )
            self.api[kind].append(took)
            cursor = answered.json()["next_cursor"]
            if cursor is None:
                return


def figures(values: list[float]) -> tuple[float, float]:
    return percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000


async def measure(base: str, rounds: int, depth: int) -> None:
    cookie, bearer = logins(base, OFFICER, PASSWORD)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        warm = Timer(client, cookie, bearer)
        for query, api_query in FILTERS.values():
            for _ in range(3):
                await warm.round(query, api_query, 2)
        print(f"\nqueue page against its API call, one request at a time, {rounds} rounds of "
              f"the first page and {depth} pages deep (p50 / p99 ms)")  # fmt: skip
        print(f"{'filter':<12}{'which':<7}{'page':>16}{'API':>16}{'p99 ratio':>11}")
        for name, (query, api_query) in FILTERS.items():
            timer = Timer(client, cookie, bearer)
            for _ in range(rounds):
                await timer.round(query, api_query, depth)
            for kind in ("first", "later"):
                page, api = figures(timer.page[kind]), figures(timer.api[kind])
                print(f"{name:<12}{kind:<7}{page[0]:>8.1f} /{page[1]:>6.1f}"
                      f"{api[0]:>8.1f} /{api[1]:>6.1f}{page[1] / api[1]:>11.2f}")  # fmt: skip


async def main(args: argparse.Namespace) -> None:
    if shutil.which("taskset") is None:
        sys.exit("taskset is needed: apt-get install util-linux")
    await fresh_databases()
    await seed_accounts()
    loaded = await load_dossiers(args.dossiers, datetime.now(UTC))
    print(f"loaded {args.dossiers:,} dossiers in {loaded:.0f} s")
    ports = dict(zip(SERVED, free_ports(len(SERVED)), strict=True))
    s3 = type("S3", (), {"endpoint": "http://127.0.0.1:9", "access_key": "x", "secret_key": "x"})
    env = environment(s3, {**ports, "documents": ports["procedures"]})
    env["GATEWAY_NATIONAL_PORTAL_URL"] = f"http://127.0.0.1:{ports['procedures']}"
    env["INTAKE_ACCOUNTS_URL"] = f"http://127.0.0.1:{ports['gateway']}"
    onestop = str(ROOT / ".venv/bin/onestop")
    commands = [[onestop, "serve", service, "--port", str(port), "--host", "127.0.0.1"]
                for service, port in ports.items()]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-desk-") as folder:
        log = Path(folder) / "servers.log"
        with processes(commands, env, log):
            try:
                for port in ports.values():
                    await asyncio.to_thread(wait_for_port, port)
                # The client on the load core, the servers on the other (processes()).
                os.sched_setaffinity(0, {int(LOAD_CORE)})
                await measure(f"http://127.0.0.1:{ports['gateway']}", args.rounds, args.depth)
            except Exception:
                print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
                raise


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    asyncio.run(main(parser.parse_args()))
