"""The whole platform, distributed as an operator runs it, under a realistic mix at fixed
arrival rates, stepped up to its knee; the bare baseline of this machine in the same run;
the measured cost of a dossier and a sizing table; and, as ``soak``, a steady mix for
half an hour.

The install is tests/chaos/stage.py's: a PostgreSQL cluster, Redis (append-only, as in
production), the SeaweedFS S3 server, and every part of the platform as its own process
in production settings (7 services with the portal mock, the SMS mock, the relay, the
consumers, the portal sync). Servers are pinned to core 1, this load generator to core 0.

Open model: arrivals are a Poisson process at the offered rate, each one operation
chosen by the mix and started whether or not earlier ones have finished; latency runs
from the moment the arrival was due (a late start counts against the platform, not
hidden by it). The mix, per 100 arrivals (MIX): citizens searching the catalogue,
opening a procedure, polling the public lookup, uploading a file and submitting (with
the files of their wallet); officers listing their queue and acting, each action the
next one a dossier needs (receive, assign, resolve with a result file, return).

A rate passes when every operation's p99 is under 300 ms with no error. The baseline:
a bare FastAPI endpoint inserting one row and reading it back (SQLAlchemy, asyncpg, the
same PostgreSQL, one uvicorn process on the same core), driven the same way.

    python bench/system.py [--rates 5,10,...] [--bare-rates ...] [--seconds 30]
    python bench/system.py soak [--minutes 30] [--rate 12] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.intake import BARE_TABLE, bare_app, percentile  # noqa: E402
from tests.chaos.stage import CENTRE, LICENCE, PDF, Stage, stage  # noqa: E402
from tests.infra import free_port, wait_for_port  # noqa: E402

LOAD_CORE, SERVER_CORE = 0, "1"
TARGET_P99_MS = 300.0
TIMEOUT = 10.0  # a request without an answer by then is an error
MAX_IN_FLIGHT = 2000  # beyond this the generator drops arrivals (and counts them)
MIX = {"search": 20, "open procedure": 15, "lookup": 15, "upload": 6, "submit": 6,
       "queue": 14, "officer action": 24}  # fmt: skip
ACTIONS = ("receive", "assign", "resolve", "return")
SEARCHES = ["giấy phép lái xe", "khai sinh", "hộ kinh doanh", "đất đai", "xây dựng",
            "kết hôn", "cư trú", "lý lịch tư pháp"]  # fmt: skip
RATES = [5, 10, 15, 20, 25, 30, 40, 50, 60, 80, 100, 130, 160, 200, 250, 300, 400, 500, 650, 800]
# Not the platform's own: the national portal and the SMS provider are stood in by mocks.
MOCKS = ("national_portal", "sms_mock")
STORES = ("postgresql", "redis", "s3 server")


@dataclass
class Step:
    """What one offered rate gave, by operation."""

    rate: float
    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=dict)  # ms, by operation
    errors: dict[str, int] = field(default_factory=dict)
    dropped: int = 0
    submitted: int = 0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds over the step
    stored: dict[str, int] = field(default_factory=dict)  # bytes added over the step

    def record(self, operation: str, ms: float, ok: bool) -> None:
        self.latencies.setdefault(operation, []).append(ms)
        if not ok:
            self.errors[operation] = self.errors.get(operation, 0) + 1

    def figures(self, operation: str) -> dict[str, float]:
        values = sorted(self.latencies.get(operation, []))
        if not values:
            return {"n": 0, "p50": 0.0, "p99": 0.0, "max": 0.0, "errors": 0}
        return {"n": len(values), "p50": percentile(values, 0.5), "p99": percentile(values, 0.99),
                "max": values[-1], "errors": self.errors.get(operation, 0)}  # fmt: skip

    def passes(self) -> bool:
        return not self.dropped and all(
            self.figures(op)["p99"] < TARGET_P99_MS and not self.errors.get(op)
            for op in self.latencies
        )


# --- the traffic -----------------------------------------------------------------------------


class Mix:
    """The operations of the mix against the platform's gateway."""

    def __init__(self, made: Stage, client: httpx.AsyncClient, rng: random.Random) -> None:
        self.made = made
        self.client = client
        self.rng = rng
        self.codes: list[str] = []  # procedures to open
        self.submitted: deque[str] = deque(maxlen=5000)  # codes for the lookup
        self.pipeline: deque[tuple[str, int, str]] = deque()  # (code, next action, owner)
        self.step = Step(0, 0)

    async def prepare(self) -> None:
        listing = await self.client.get("/api/v1/procedures", params={"size": 100})
        self.codes = [p["code"] for p in listing.json()["items"]]

    async def timed(
        self, operation: str, due: float, call: Callable[[], Awaitable[httpx.Response]],
        expected: int = 200,
    ) -> httpx.Response | None:  # fmt: skip
        step = self.step
        try:
            answer = await asyncio.wait_for(call(), TIMEOUT)
        except (httpx.HTTPError, TimeoutError):
            step.record(operation, (time.perf_counter() - due) * 1000, ok=False)
            return None
        step.record(operation, (time.perf_counter() - due) * 1000, answer.status_code == expected)
        return answer if answer.status_code == expected else None

    async def run(self, operation: str, due: float) -> None:
        client, rng = self.client, self.rng
        citizen = rng.choice(self.made.citizens)
        if operation == "search":
            query = {"q": rng.choice(SEARCHES)}
            await self.timed(operation, due, lambda: client.get("/api/v1/procedures",
                                                                params=query))  # fmt: skip
        elif operation == "open procedure":
            code = rng.choice(self.codes)
            await self.timed(operation, due, lambda: client.get(f"/api/v1/procedures/{code}"))
        elif operation == "lookup":
            if not self.submitted:
                return
            code = rng.choice(self.submitted)
            await self.timed(operation, due, lambda: client.get(f"/api/v1/lookup/{code}"))
        elif operation == "upload":
            await self.upload(due, citizen.headers)
        elif operation == "submit":
            body = {"procedure_code": LICENCE, "agency_code": CENTRE, "applicant": citizen.form,
                    "documents": citizen.documents}  # fmt: skip
            headers = {**citizen.headers, "idempotency-key": str(uuid.uuid4())}
            answer = await self.timed(
                operation, due,
                lambda: client.post("/api/v1/dossiers", json=body, headers=headers),
                expected=201,
            )  # fmt: skip
            if answer is not None:
                code = answer.json()["code"]
                self.step.submitted += 1
                self.submitted.append(code)
                self.pipeline.append((code, 0, citizen.account))
        elif operation == "queue":
            desk = self.made.officers["desk"]
            await self.timed(operation, due, lambda: client.get(
                f"/api/v1/queues/{CENTRE}", params={"limit": "20"}, headers=desk))  # fmt: skip
        else:
            await self.act(due)

    async def upload(self, due: float, headers: dict[str, str], **data: str) -> str | None:
        path = "/api/v1/documents/results" if data else "/api/v1/documents"
        files = {"file": ("tệp.pdf", PDF, "application/pdf")}
        answer = await self.timed("upload", due, lambda: self.client.post(
            path, files=files, data=data or None, headers=headers), expected=201)  # fmt: skip
        return None if answer is None else str(answer.json()["id"])

    async def act(self, due: float) -> None:
        """The next action of the dossier longest in the pipeline (none waiting: none)."""
        if not self.pipeline:
            return
        code, index, owner = self.pipeline.popleft()
        action, officers = ACTIONS[index], self.made.officers
        who = officers["desk"] if action in ("receive", "return") else officers[
            "leader" if action == "assign" else "specialist"]  # fmt: skip
        body: dict[str, Any] = {}
        if action == "assign":
            body = {"assignee": self.made.specialist_id}
        elif action == "resolve":
            result = await self.upload(due, who, owner=owner, dossier_code=code,
                                       agency_code=CENTRE)  # fmt: skip
            if result is None:
                return
            body = {"result_documents": [result]}
            due = time.perf_counter()  # the action's own time, after its upload
        headers = {**who, "idempotency-key": str(uuid.uuid4())}
        answer = await self.timed(action, due, lambda: self.client.post(
            f"/api/v1/dossiers/{code}/actions/{action}", json=body, headers=headers))  # fmt: skip
        if answer is not None and index + 1 < len(ACTIONS):
            self.pipeline.append((code, index + 1, owner))


async def offer(
    rate: float, seconds: float, run: Callable[[str, float], Coroutine[Any, Any, None]],
    weights: dict[str, int], step: Step, rng: random.Random,
) -> None:  # fmt: skip
    """Arrivals at ``rate`` per second for ``seconds`` (Poisson), each one operation run
    in a task of its own; then waits for those in flight."""
    operations, cumulative = list(weights), []
    total = 0
    for weight in weights.values():
        total += weight
        cumulative.append(total)
    in_flight: set[asyncio.Task[None]] = set()
    due = time.perf_counter()
    end = due + seconds
    while True:
        due += rng.expovariate(rate)
        if due >= end:
            break
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        if len(in_flight) >= MAX_IN_FLIGHT:
            step.dropped += 1
            continue
        pick = rng.uniform(0, total)
        operation = operations[next(i for i, c in enumerate(cumulative) if pick <= c)]
        task = asyncio.create_task(run(operation, due))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.wait(in_flight, timeout=TIMEOUT * 3)


# --- the processes -------------------------------------------------------------------------------


def pin_servers(made: Stage) -> dict[str, list[int]]:
    """PostgreSQL, Redis and the S3 server onto the servers' core (the platform's parts
    were started there); the processes of each, for their CPU time."""
    postmaster = int((made.postgres.data / "postmaster.pid").read_text().split()[0])
    assert made.redis.process is not None
    assert made.s3.server is not None
    groups = {"postgresql": [postmaster], "redis": [made.redis.process.pid],
              "s3 server": [made.s3.server.process.pid]}  # fmt: skip
    for pids in groups.values():
        for pid in pids:
            subprocess.run(["taskset", "-a", "-p", "-c", SERVER_CORE, str(pid)],
                           check=True, capture_output=True)  # fmt: skip
    for name, process in made.cluster.processes.items():
        groups[name] = [process.pid]
    return groups


def children(pid: int) -> list[int]:
    """``pid`` and its children (PostgreSQL's backends)."""
    found = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(stat[1]) == pid:
                    found.append(int(entry.name))
    return found


def cpu(groups: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds used so far by each group (PostgreSQL: the postmaster and backends;
    taskset's child for a pinned part)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for name, pids in groups.items():
        total = 0
        for pid in (p for top in pids for p in children(top)):
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        used[name] = total / ticks
    return used


async def stored_bytes(made: Stage) -> tuple[int, int]:
    """The databases' size on disk, and the S3 server's volumes."""
    connection = await asyncpg.connect(made.postgres.url("postgres").replace("+asyncpg", ""))
    try:
        size = await connection.fetchval(
            "SELECT sum(pg_database_size(datname)) FROM pg_database WHERE datname LIKE 'onestop_%'"
        )
    finally:
        await connection.close()
    volumes = sum(p.stat().st_size for p in made.s3.folder.rglob("*") if p.is_file())
    return int(size), volumes


# --- the bare baseline ----------------------------------------------------------------------------


def serve_bare(port: int, url: str) -> None:
    import uvicorn

    app = bare_app(url, read_back=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def baseline(made: Stage, rates: list[float], seconds: float) -> list[Step]:
    url = made.postgres.url("onestop_bench_bare")
    connection = await asyncpg.connect(made.postgres.url("postgres").replace("+asyncpg", ""))
    await connection.execute('CREATE DATABASE "onestop_bench_bare"')
    await connection.close()
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    await connection.execute(f"CREATE TABLE {BARE_TABLE} (id bigserial PRIMARY KEY, payload jsonb)")
    await connection.close()
    port = free_port()
    command = ["taskset", "-c", SERVER_CORE, sys.executable, __file__, "serve-bare", str(port), url]
    process = await asyncio.to_thread(subprocess.Popen, command)
    steps: list[Step] = []
    try:
        await asyncio.to_thread(wait_for_port, port)
        limits = httpx.Limits(max_connections=MAX_IN_FLIGHT)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits) as client:
            body = {"applicant": {"full_name": "Trần Thị Bình", "id_number": "001099000001"}}
            measuring = Step(0, 0)

            async def run(operation: str, due: float) -> None:
                try:
                    answer = await asyncio.wait_for(client.post("/bare", json=body), TIMEOUT)
                    ok = answer.status_code == 201
                except (httpx.HTTPError, TimeoutError):
                    ok = False
                measuring.record("bare insert+read", (time.perf_counter() - due) * 1000, ok)

            # A warm-up at the first rate (connections, the table's first pages), unmeasured.
            await offer(rates[0], seconds, run, {"bare": 1}, measuring, random.Random(0))
            for rate in rates:
                step = measuring = Step(rate, seconds)
                await offer(rate, seconds, run, {"bare": 1}, step, random.Random(rate))
                steps.append(step)
                report_step(step)
                if beyond_the_knee(steps):
                    break
    finally:
        process.terminate()
        process.wait(10)
    return steps


# --- the run --------------------------------------------------------------------------------------


def report_step(step: Step) -> None:
    print(f"\n{step.rate:g}/s offered for {step.seconds:g} s: "
          f"{'PASS' if step.passes() else 'FAIL'}, dropped {step.dropped}")  # fmt: skip
    print(f"  {'operation':<17}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}")
    for operation in sorted(step.latencies):
        f = step.figures(operation)
        print(f"  {operation:<17}{f['n']:>6.0f}{f['p50']:>9.1f}{f['p99']:>9.1f}"
              f"{f['max']:>9.1f}{f['errors']:>8.0f}")  # fmt: skip


@asynccontextmanager
async def platform(folder: Path, citizens: int) -> AsyncIterator[tuple[Stage, Mix]]:
    settings = {"ONESTOP_ACCESS_TOKEN_TTL_SECONDS": "86400", "ONESTOP_LOG_LEVEL": "WARNING"}
    with stage(folder, citizens=citizens, pool_size=None, settings=settings,
               cores=SERVER_CORE) as made:  # fmt: skip
        limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=200)
        async with httpx.AsyncClient(base_url=made.cluster.url, limits=limits,
                                     timeout=TIMEOUT) as client:  # fmt: skip
            mix = Mix(made, client, random.Random(7))
            await mix.prepare()
            yield made, mix


async def bench(args: argparse.Namespace) -> None:
    os.sched_setaffinity(0, {LOAD_CORE})
    steps: list[Step] = []
    with tempfile.TemporaryDirectory(prefix="onestop-system-") as folder:
        async with platform(Path(folder), args.citizens) as (made, mix):
            groups = pin_servers(made)
            warm = Step(5, 10)
            mix.step = warm
            await offer(5, 10, mix.run, MIX, warm, random.Random(1))  # warm-up
            # What each part burns with nothing to do (pollers, probes, housekeeping): a
            # fixed cost per replica, taken out of the cost per dossier.
            before = cpu(groups)
            await asyncio.sleep(IDLE_SECONDS)
            after = cpu(groups)
            idle = {n: (after[n] - before[n]) / IDLE_SECONDS for n in after}
            for rate in args.rates:
                step = Step(rate, args.seconds)
                mix.step = step
                before_cpu, (database, objects) = cpu(groups), await stored_bytes(made)
                await offer(rate, args.seconds, mix.run, MIX, step, random.Random(rate))
                after_cpu = cpu(groups)
                step.cpu = {n: after_cpu[n] - before_cpu[n] for n in after_cpu}
                database_after, objects_after = await stored_bytes(made)
                step.stored = {"database": database_after - database,
                               "objects": objects_after - objects}  # fmt: skip
                steps.append(step)
                report_step(step)
                if beyond_the_knee(steps):
                    break
            bare = await baseline(made, args.bare_rates, args.seconds)
    summarise(steps, bare, idle, args)


def beyond_the_knee(steps: list[Step]) -> bool:
    """Two rates in a row failed: one slow answer among a step's few is not the knee."""
    return len(steps) >= 2 and not steps[-1].passes() and not steps[-2].passes()


def knee(steps: list[Step]) -> Step | None:
    passed = [s for s in steps if s.passes()]
    return passed[-1] if passed else None


# Working hours and the peak over the mean: a desk's day is 8 hours, and a Monday
# morning brings about three times the day's mean rate.
HOURS, PEAK = 8, 3.0
LOADS = {"province (5,000 dossiers/day)": 5_000, "country (300 M/year)": 300e6 / 250}
UTILISATION = 0.6  # a core planned at 60 % busy keeps p99 low
DOCUMENTS_PER_DOSSIER, DOCUMENT_BYTES = 3, 500_000  # scans as citizens upload them
IDLE_SECONDS = 20.0


def summarise(
    steps: list[Step], bare: list[Step], idle: dict[str, float], args: argparse.Namespace
) -> None:
    best, bare_best = knee(steps), knee(bare)
    print("\n== knee ==")
    if best is None or bare_best is None:
        print("no rate passed")
        return
    print(f"platform: {best.rate:g} arrivals/s sustained with every p99 < 300 ms "
          f"({best.submitted / best.seconds:.2f} dossiers/s submitted)")  # fmt: skip
    print(f"bare baseline: {bare_best.rate:g} requests/s; ratio {best.rate / bare_best.rate:.2f}")
    # The cost is read where the most dossiers went through without an error: the fixed
    # cost of idle parts weighs least there (the knee's own step may hold a few dossiers).
    costly = max((s for s in steps if not s.errors and not s.dropped), key=lambda s: s.rate)
    dossiers = max(costly.submitted, 1)
    print(f"\n== cost per dossier at {costly.rate:g}/s, {dossiers} dossiers (the mix around each "
          "dossier included; idle CPU taken out) ==")  # fmt: skip
    costs = {
        n: max(0.0, used - idle.get(n, 0.0) * costly.seconds) / dossiers
        for n, used in costly.cpu.items()
    }
    print(f"  {'part':<18}{'per dossier':>12}{'idle':>16}")
    for name, seconds in sorted(costs.items(), key=lambda item: -item[1]):
        print(f"  {name:<18}{seconds * 1000:>9.1f} ms{idle.get(name, 0) * 1000:>10.1f} ms/s")
    print(f"  {'all':<18}{sum(costs.values()) * 1000:>9.1f} ms")
    database = costly.stored["database"] / dossiers
    # The bench's files are 750-byte PDFs; a real dossier carries scans.
    files = DOCUMENT_BYTES * DOCUMENTS_PER_DOSSIER
    print(f"  database          {database / 1024:>9.1f} KiB (measured)")
    print(f"  objects           {costly.stored['objects'] / dossiers / 1024:>9.1f} KiB measured; "
          f"sized at {DOCUMENTS_PER_DOSSIER} files x {DOCUMENT_BYTES / 1e6:g} MB")  # fmt: skip
    print("\n== sizing (cores at 60 % busy, peak = 3 x the working-hours mean) ==")
    for place, per_day in LOADS.items():
        peak = per_day / (HOURS * 3600) * PEAK
        yearly = per_day * 250
        print(
            f"{place}: peak {peak:.2f} dossiers/s; a year: database "
            f"{yearly * database / 1e12:.2f} TB, files {yearly * files / 1e12:.1f} TB"
        )
        total = 0.0
        for name, seconds in sorted(costs.items(), key=lambda item: -item[1]):
            if name in MOCKS:
                continue
            busy = seconds * peak / UTILISATION
            replicas = 1 if name in STORES else max(2, math.ceil(busy))
            cores = busy + idle.get(name, 0.0) * replicas  # each replica's idle cost too
            total += cores
            count = "one primary" if name in STORES else f"{replicas} replicas"
            print(f"  {name:<18}{cores:>8.2f} cores  {count}")
        print(f"  {'all (no mocks)':<18}{total:>8.2f} cores")
    plot(steps, bare, args.plot)


def plot(steps: list[Step], bare: list[Step], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 5.5))
    operations = sorted({op for s in steps for op in s.latencies})
    for operation in operations:
        points = [(s.rate, s.figures(operation)["p99"]) for s in steps if operation in s.latencies]
        axes.plot(*zip(*points, strict=True), marker="o", label=f"{operation} p99")
    points = [(s.rate, s.figures("bare insert+read")["p99"]) for s in bare]
    axes.plot(*zip(*points, strict=True), "k--", marker="s", label="bare FastAPI + row, p99")
    axes.axhline(TARGET_P99_MS, color="red", linewidth=1, label="300 ms")
    axes.set_yscale("log")
    axes.set_xscale("log")
    axes.set_xlabel("offered load (arrivals per second, open model)")
    axes.set_ylabel("p99 latency (ms)")
    axes.set_title("One-stop platform, distributed, 1 server core: p99 by operation")
    axes.legend(fontsize=7, ncol=2)
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    print(f"\nplot: {out}")


# --- the soak ------------------------------------------------------------------------------------


def rss_mb(groups: dict[str, list[int]]) -> dict[str, float]:
    """Resident memory of each process (PostgreSQL's is shared memory mostly: left out)."""
    found = {}
    for name, pids in groups.items():
        if name == "postgresql":
            continue
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{pids[0]}/status").read_text()
            kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
            found[name] = int(kb) / 1024
    return found


async def consumer_lag(made: Stage) -> float:
    """Events the consumers and the sync have still to read (their /metrics)."""
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    async with httpx.AsyncClient(timeout=10) as client:
        for worker in ("consume", "sync"):
            text = (await client.get(f"{made.cluster.part_url(worker)}/metrics")).text
            for family in text_string_to_metric_families(text):
                total += sum(s.value for s in family.samples if s.name == "onestop_consumer_lag")
    return total


async def soak(args: argparse.Namespace) -> None:
    """A steady mix at ``--rate`` for ``--minutes``, one line a minute; then the verdicts:
    memory flat, no backlog growing, no pool exhausted (no error at all), latency at the
    end within 10 % of the start."""
    from tests.chaos.checks import backlog

    os.sched_setaffinity(0, {LOAD_CORE})
    windows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="onestop-soak-") as folder:
        async with platform(Path(folder), args.citizens) as (made, mix):
            groups = pin_servers(made)
            rng = random.Random(11)
            print(f"soak: {args.rate:g} arrivals/s for {args.minutes:g} min; a line a minute")
            print(f"{'min':>4}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}{'backlog':>8}{'lag':>6}"
                  f"{'RSS MB (platform)':>19}{'largest':>28}")  # fmt: skip
            for minute in range(1, math.ceil(args.minutes) + 1):
                step = Step(args.rate, 60)
                mix.step = step
                await offer(args.rate, 60, mix.run, MIX, step, rng)
                every = sorted(ms for values in step.latencies.values() for ms in values)
                memory = rss_mb(groups)
                largest = max(memory, key=lambda n: memory[n])
                window = {
                    "minute": minute, "p50": percentile(every, 0.5),
                    "p99": percentile(every, 0.99), "errors": sum(step.errors.values()),
                    "dropped": step.dropped, "backlog": sum((await backlog(made)).values()),
                    "lag": await consumer_lag(made), "memory": memory,
                    "pipeline": len(mix.pipeline),
                }  # fmt: skip
                windows.append(window)
                print(f"{minute:>4}{window['p50']:>8.1f}{window['p99']:>8.1f}"
                      f"{window['errors']:>7}{window['backlog']:>8}{window['lag']:>6.0f}"
                      f"{sum(memory.values()):>19.0f}"
                      f"{f'{largest} {memory[largest]:.0f}':>28}")  # fmt: skip
    verdicts(windows)
    if args.json:
        args.json.write_text(json.dumps(windows, indent=1))


def verdicts(windows: list[dict[str, Any]]) -> None:
    """Start = minutes 2-4 (after the warm-up minute), end = the last three."""
    if len(windows) < 7:
        print("too short for verdicts: at least 7 minutes")
        return
    start, end = windows[1:4], windows[-3:]

    def mean(rows: list[dict[str, Any]], key: str) -> float:
        return sum(float(row[key]) for row in rows) / len(rows)

    p50_start, p50_end = mean(start, "p50"), mean(end, "p50")
    growth = {
        name: sum(r["memory"][name] for r in end) / sum(r["memory"][name] for r in start) - 1
        for name in start[0]["memory"]
    }
    # Redis holds the event streams (trimmed at a million entries each) and the S3 server
    # its index of the files: both grow with the data by design. The platform's own
    # processes must not.
    own = {name: g for name, g in growth.items() if name not in STORES}
    worst = max(own, key=lambda n: own[n])
    errors = sum(int(w["errors"]) + int(w["dropped"]) for w in windows)
    print("\n== verdicts ==")
    print(
        f"latency p50: start {p50_start:.1f} ms, end {p50_end:.1f} ms "
        f"({(p50_end / p50_start - 1) * 100:+.1f} %; within 10 %: {p50_end <= p50_start * 1.1})"
    )
    print(f"latency p99: start {mean(start, 'p99'):.1f} ms, end {mean(end, 'p99'):.1f} ms")
    print("memory, MB (mean of the start's minutes, of the end's):")
    for name in sorted(growth, key=lambda n: -growth[n]):
        first = sum(r["memory"][name] for r in start) / len(start)
        last = sum(r["memory"][name] for r in end) / len(end)
        store = " (a store: grows with its data)" if name in STORES else ""
        print(f"  {name:<18}{first:>8.1f}{last:>8.1f}{growth[name] * 100:>+8.1f} %{store}")
    print(
        f"platform processes: largest growth {worst} {own[worst] * 100:+.1f} % "
        f"(every one within 10 %: {all(g <= 0.10 for g in own.values())})"
    )
    print(
        f"backlog: start {mean(start, 'backlog'):.1f}, end {mean(end, 'backlog'):.1f}; "
        f"consumer lag: start {mean(start, 'lag'):.1f}, end {mean(end, 'lag'):.1f}; "
        f"officers' pipeline: start {mean(start, 'pipeline'):.0f}, end {mean(end, 'pipeline'):.0f}"
    )
    print(f"errors (a pool exhausted would be 503s): {errors}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "soak"])
    parser.add_argument("--rates", type=lambda v: [float(r) for r in v.split(",")],
                        default=RATES)  # fmt: skip
    parser.add_argument("--bare-rates", type=lambda v: [float(r) for r in v.split(",")],
                        default=RATES, help="the baseline's rates")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=30.0, help="each rate's duration")
    parser.add_argument("--citizens", type=int, default=20)
    parser.add_argument("--plot", type=Path, default=ROOT / "bench" / "system.png")
    parser.add_argument("--minutes", type=float, default=30.0, help="the soak's duration")
    parser.add_argument("--rate", type=float, default=12.0, help="the soak's arrivals/s")
    parser.add_argument("--json", type=Path, help="the soak's minutes, written here")
    args = parser.parse_args()
    if args.mode == "soak":
        asyncio.run(soak(args))
    else:
        asyncio.run(bench(args))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve-bare":
        serve_bare(int(sys.argv[2]), sys.argv[3])
    else:
        main()
