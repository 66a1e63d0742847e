"""Submissions end to end through the gateway, and officer queues over 1,000,000 dossiers.

Part 1, throughput. Distributed mode, each service its own process (``onestop serve``):
gateway -> intake -> procedures (the version in force, cached) and documents, PostgreSQL,
Redis, the SeaweedFS S3 server. Intake's and documents' outbox relays run as ``onestop
worker relay``, and intake's consumers as ``onestop worker consume``: intake learns each
uploaded file from documents' ``document.ready`` event and checks a submission's files
against what it learned (documents is asked only about files it has not heard of).
Every request files a real dossier: the e-form validated, three documents checked, the
code taken, the dossier, its audit entry and its event written in one transaction. The
baseline, in the same run on the same cores: a bare FastAPI endpoint inserting one row
with the same driver (SQLAlchemy, asyncpg). wrk drives both on the load core; the
servers share the other cores.

Part 2, queues. 1,000,000 dossiers are copied into intake's table, spread over 20
agencies (the measured one holds 100,000, of which 40,000 are open); then the first page
(with its counts per timeliness) and later pages (keyset cursors) are timed, straight to
intake and through the gateway.

    python bench/intake.py [--duration 10] [--connections 32] [--dossiers 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI, Request
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.auth import AgencyMembership, Position, Principal, Role, TokenService  # noqa: E402
from shared.settings import PlatformSettings  # noqa: E402
from tests.infra import free_port, free_ports, seaweedfs, wait_for_port  # noqa: E402

SECRET = "bench-secret-" + "x" * 40
POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432"
SERVICES = ("procedures", "documents", "tracking", "intake", "gateway")
CENTRE = "000.00.15.H49"
LICENCE = "TTHC-20"  # Đổi giấy phép lái xe: 3 documents to give, an e-form to validate
FORM = {
    "applicant": {
        "full_name": "Trần Thị Bình",
        "id_number": "001099000001",
        "contact_address": "Phường Hồng Gai, Quảng Ninh",
    },
    "licence_number": "220123456789",
    "licence_class": "B",
}
LOAD_CORE = "0"
SERVER_CORES = "1"
BARE_TABLE = "bench_bare_rows"


def database_url(service: str) -> str:
    return f"{POSTGRES}/onestop_bench_intake_{service}"


# --- the bare baseline ------------------------------------------------------------------


def bare_app(url: str | None = None, *, read_back: bool = False) -> FastAPI:
    """One POST that inserts one row into ``BARE_TABLE`` (JSON in, JSON out), SQLAlchemy
    over asyncpg; with ``read_back`` it reads the row back too (bench/system.py)."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    # The pool intake has (shared/db.py).
    engine = create_async_engine(url or database_url("intake"), pool_size=20, max_overflow=0)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/bare", status_code=201)
    async def insert(request: Request) -> dict[str, Any]:
        body = await request.json()
        async with engine.begin() as connection:
            row = await connection.execute(
                text(f"INSERT INTO {BARE_TABLE} (payload) VALUES (:payload) RETURNING id"),
                {"payload": json.dumps(body)},
            )
            if not read_back:
                return {"id": row.scalar_one()}
            found = await connection.execute(
                text(f"SELECT payload FROM {BARE_TABLE} WHERE id = :id"), {"id": row.scalar_one()}
            )
            return {"payload": found.scalar_one()}

    return app


def serve_bare(port: int) -> None:
    import uvicorn

    uvicorn.run(bare_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --- set-up --------------------------------------------------------------------------------


async def fresh_databases() -> None:
    from services.bootstrap import SEEDS
    from services.composition import SPECS
    from shared.db import Database
    from shared.migrations import upgrade

    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        for service in SERVICES:
            name = f"onestop_bench_intake_{service}"
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{name}"')
            await asyncio.to_thread(upgrade, SPECS[service].migrations, database_url(service))
    finally:
        await admin.close()
    for service in ("procedures", "tracking"):
        database = Database(database_url(service))
        async with database.session() as session:
            await SEEDS[service].load(session)
        await database.dispose()
    intake = await asyncpg.connect(database_url("intake").replace("+asyncpg", ""))
    await intake.execute(f"CREATE TABLE {BARE_TABLE} (id bigserial PRIMARY KEY, payload jsonb)")
    await intake.close()


def environment(s3: Any, ports: dict[str, int]) -> dict[str, str]:
    env = {
        **os.environ,
        "ONESTOP_MODE": "distributed",
        "ONESTOP_ENVIRONMENT": "development",
        "ONESTOP_JWT_SECRET": SECRET,
        "ONESTOP_LOG_LEVEL": "WARNING",
        "ONESTOP_REDIS_URL": "redis://127.0.0.1:6379/14",
        "DOCUMENTS_S3_ENDPOINT": s3.endpoint,
        "DOCUMENTS_S3_ACCESS_KEY": s3.access_key,
        "DOCUMENTS_S3_SECRET_KEY": s3.secret_key,
        "DOCUMENTS_S3_BUCKET": f"bench-{uuid.uuid4().hex[:8]}",
        "PORTAL_DATABASE_URL": database_url("gateway"),  # unused by these processes
    }
    for service in SERVICES:
        env[f"{service.upper()}_DATABASE_URL"] = database_url(service)
    for upstream in ("procedures", "tracking", "documents"):
        env[f"INTAKE_{upstream.upper()}_URL"] = f"http://127.0.0.1:{ports[upstream]}"
    for upstream in ("procedures", "tracking", "documents", "intake"):
        env[f"GATEWAY_{upstream.upper()}_URL"] = f"http://127.0.0.1:{ports[upstream]}"
    env["GATEWAY_NATIONAL_PORTAL_URL"] = f"http://127.0.0.1:{ports['procedures']}"
    # The portal sync has its own bench (bench/sync.py); rate limits stay on (their
    # Redis call is part of every request) but out of wrk's reach.
    env["GATEWAY_PORTAL_SYNC_ENABLED"] = "false"
    for name in ("CALLER", "ADDRESS"):
        env[f"GATEWAY_RATE_{name}_PER_MINUTE"] = str(10**9)
        env[f"GATEWAY_RATE_{name}_BURST"] = str(10**6)
    return env


@contextlib.contextmanager
def processes(
    commands: list[list[str]], env: dict[str, str], log: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    with log.open("ab") as output:
        try:
            for command in commands:
                started.append(
                    subprocess.Popen(
                        ["taskset", "-c", SERVER_CORES, *command],
                        env=env,
                        stdout=output,
                        stderr=subprocess.STDOUT,
                    )
                )
            yield started
        finally:
            for process in started:
                process.terminate()
            for process in started:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(10)


# --- measuring -----------------------------------------------------------------------------


def wrk(url: str, script: Path, *, connections: int, duration: int) -> dict[str, float]:
    output = subprocess.run(
        ["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}", f"-d{duration}s",
         "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} failed responses\n{output}")
    done = re.search(r"(\d+) requests in", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "p50_ms": _latency(output, "50%"),
        "p99_ms": _latency(output, "99%"),
        "requests": float(done.group(1)) if done else 0.0,
    }


def cpu_seconds(processes: list[subprocess.Popen[bytes]]) -> list[float]:
    """User + system CPU time each process has used so far (``/proc/<pid>/stat``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = []
    for process in processes:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        used.append((int(fields[11]) + int(fields[12])) / ticks)  # utime, stime
    return used


def _latency(output: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def post_script(folder: Path, body: dict[str, Any], token: str) -> Path:
    script = folder / f"post-{uuid.uuid4().hex[:6]}.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = [[{json.dumps(body, ensure_ascii=False)}]]\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n',
        encoding="utf-8",
    )
    return script


async def upload_documents(gateway: str, token: str) -> list[dict[str, Any]]:
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=gateway, headers=headers, timeout=30) as client:
        procedure = (await client.get(f"/api/v1/procedures/{LICENCE}")).json()
        refs = []
        for index, requirement in enumerate(procedure["required_documents"]):
            if requirement["required"] and requirement["kind"] != "presented":
                response = await client.post(
                    "/api/v1/documents",
                    files={"file": ("tờ khai.pdf", b"%PDF-1.4\n%%EOF\n" * 50, "application/pdf")},
                )
                response.raise_for_status()
                refs.append({"requirement": index, "id": response.json()["id"]})
        return refs


async def known_to_intake(count: int) -> None:
    """Wait until intake has learned the uploaded documents from documents' events."""
    for _ in range(200):
        if await count_rows("known_documents") >= count:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("intake did not learn the documents (relay or consumer down?)")


async def count_rows(table: str) -> int:
    connection = await asyncpg.connect(database_url("intake").replace("+asyncpg", ""))
    try:
        return int(await connection.fetchval(f"SELECT count(*) FROM {table}"))
    finally:
        await connection.close()


async def throughput(args: argparse.Namespace, folder: Path) -> dict[str, dict[str, float]]:
    tokens = TokenService.from_settings(PlatformSettings(jwt_secret=SecretStr(SECRET)))
    citizen = tokens.issue(Principal(subject="bench-citizen", username="001099000001",
                                     role=Role.CITIZEN))  # fmt: skip
    onestop = str(ROOT / ".venv/bin/onestop")
    ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
    log = folder / "servers.log"
    results: dict[str, dict[str, float]] = {}
    (folder / "s3").mkdir()
    with seaweedfs(folder / "s3") as s3:
        env = environment(s3, ports)
        commands = [
            [onestop, "serve", service, "--port", str(port), "--host", "127.0.0.1"]
            for service, port in ports.items()
        ]
        commands.append([onestop, "worker", "relay", "--service", "intake"])
        # Documents announces each upload; intake's consumer keeps what a submission
        # checks. Both are idle during the measured run (the files are uploaded before).
        commands.append([onestop, "worker", "relay", "--service", "documents"])
        commands.append([onestop, "worker", "consume", "--service", "intake"])
        with processes(commands, env, log) as started:
            for port in ports.values():
                await asyncio.to_thread(wait_for_port, port)
            gateway = f"http://127.0.0.1:{ports['gateway']}"
            documents = await upload_documents(gateway, citizen)
            await known_to_intake(len(documents))
            body = {"procedure_code": LICENCE, "agency_code": CENTRE, "applicant": FORM,
                    "documents": documents}  # fmt: skip
            script = post_script(folder, body, citizen)
            url = f"{gateway}/api/v1/dossiers"
            wrk(url, script, connections=args.connections, duration=2)  # warm-up
            before = await count_rows("dossiers")
            cpu_before = cpu_seconds(started)
            results["submission"] = wrk(
                url, script, connections=args.connections, duration=args.duration
            )
            cpu_after = cpu_seconds(started)
            stored = await count_rows("dossiers") - before
            results["submission"]["stored"] = stored
            # Where the CPU goes: each process's time over the run, per dossier stored.
            names = [*ports, "relay", "documents relay", "intake consumers"]
            results["CPU ms per dossier"] = {
                name: 1000 * (after - first) / max(stored, 1)
                for name, first, after in zip(names, cpu_before, cpu_after, strict=True)
            }

    bare_port = free_port()
    bare = [sys.executable, __file__, "--serve-bare", str(bare_port)]
    with processes([bare], dict(os.environ), log) as started:
        await asyncio.to_thread(wait_for_port, bare_port)
        script = post_script(folder, {"applicant": FORM}, "none")
        url = f"http://127.0.0.1:{bare_port}/bare"
        wrk(url, script, connections=args.connections, duration=2)
        before = await count_rows(BARE_TABLE)
        cpu_before = cpu_seconds(started)
        results["bare insert"] = wrk(
            url, script, connections=args.connections, duration=args.duration
        )
        cpu_after = cpu_seconds(started)
        stored = await count_rows(BARE_TABLE) - before
        results["bare insert"]["stored"] = stored
        results["bare insert"]["CPU ms per row"] = 1000 * (cpu_after[0] - cpu_before[0]) / stored
    return results


# --- queues --------------------------------------------------------------------------------

OPEN = ["submitted", "received", "processing", "supplement_requested", "awaiting_payment"]
AGENCIES = [CENTRE] + [f"000.{n:02d}.01.H49" for n in range(40, 59)]


def dossier_rows(count: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(7)
    for number in range(count):
        # The measured agency holds one dossier in ten; 40% of its dossiers are open.
        agency = CENTRE if number % 10 == 0 else AGENCIES[1 + number % 19]
        is_open = rng.random() < 0.4
        status = rng.choice(OPEN) if is_open else "returned"
        submitted = now - timedelta(minutes=rng.randrange(0, 60 * 24 * 365))
        received = None if status == "submitted" else submitted + timedelta(hours=1)
        paused = status in ("supplement_requested", "awaiting_payment")
        days = timedelta(days=rng.randrange(1, 30))
        due = None if received is None or paused else received + days
        yield (
            f"{agency}-{submitted:%y%m%d}-{number:07d}", status, 3, 3, "0" * 64,
            LICENCE, 1, "Đổi giấy phép lái xe", "G01", agency, agency, "online",
            f"citizen-{number % 50_000}", f"citizen-{number % 50_000}",
            APPLICANTS[number % len(APPLICANTS)], "[]", "[]",
            135000, None, '{"unit": "working_days", "value": 5}', "pause", 2400.0, "[]",
            submitted, received, due, due - timedelta(hours=8) if due else None,
            "000.00.00.H49", 1, None, 0, None, None if is_open else due,
            None if is_open else "on_time", None, "[]", "[]", None, submitted,
        )  # fmt: skip


# The e-form's common applicant block (migration 0010 copies its name for the queues).
APPLICANTS = [
    json.dumps({"applicant": {"full_name": f"{family} {middle} {given}"}}, ensure_ascii=False)
    for family in ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng")
    for middle in ("Văn", "Thị", "Minh")
    for given in ("An", "Bình", "Cường", "Dung", "Em", "Giang")
]


COLUMNS = [
    "code", "status", "sequence", "audit_sequence", "head_hash", "procedure_code",
    "procedure_version", "procedure_name", "field_code", "agency_code",
    "receiving_agency_code", "channel", "applicant", "submitted_by", "applicant_data",
    "documents", "fees", "fee_total_vnd", "assignee", "time_limit", "supplement_policy",
    "budget_minutes", "pauses", "submitted_at", "received_at", "due_at", "due_soon_at",
    "calendar_code", "calendar_version", "appointment_at", "supplement_requests",
    "counted_late", "finished_at", "timeliness", "pending_request", "steps",
    "result_documents", "reason", "updated_at",
]  # fmt: skip


async def load_dossiers(count: int, now: datetime) -> float:
    """Copy ``count`` dossiers in. The queue tallies' triggers would update a few hot rows
    a million times in twenty transactions, leaving the tallies as bloated as no
    steady state does; so the rows go in at the revision before the tallies, upgrading
    builds them the way it does on a database that already holds dossiers, and the
    past days are folded as intake's hourly job keeps them."""
    from alembic import command

    from services.composition import SPECS
    from services.intake.repository.tallies import fold_past_days
    from shared.db import Database
    from shared.migrations import alembic_config, downgrade

    config = alembic_config(SPECS["intake"].migrations, database_url("intake"))
    await asyncio.to_thread(downgrade, SPECS["intake"].migrations, database_url("intake"), "0004")
    connection = await asyncpg.connect(database_url("intake").replace("+asyncpg", ""))
    began = time.perf_counter()
    try:
        await connection.execute("TRUNCATE dossiers")
        batch: list[tuple[Any, ...]] = []
        for row in dossier_rows(count, now):
            batch.append(row)
            if len(batch) == 50_000:
                await connection.copy_records_to_table("dossiers", records=batch, columns=COLUMNS)
                batch.clear()
        if batch:
            await connection.copy_records_to_table("dossiers", records=batch, columns=COLUMNS)
        await asyncio.to_thread(command.upgrade, config, "head")
        database = Database(database_url("intake"))
        async with database.session() as session:
            await fold_past_days(session, before=now.date() - timedelta(days=1))
        await database.dispose()
        await connection.execute("VACUUM ANALYZE dossiers")
        await connection.execute("VACUUM ANALYZE queue_tallies")
    finally:
        await connection.close()
    return time.perf_counter() - began


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def time_pages(base: str, token: str, params: dict[str, str], rounds: int,
                     depth: int) -> dict[str, float]:  # fmt: skip
    """First pages (with counts) and pages ``1..depth`` deep by cursor, each ``rounds`` times."""
    first: list[float] = []
    later: list[float] = []
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        url = f"/api/v1/queues/{CENTRE}"
        for _ in range(rounds):
            began = time.perf_counter()
            page = (await client.get(url, params={**params, "limit": "50"})).json()
            first.append(time.perf_counter() - began)
            for _ in range(depth):
                cursor = page["next_cursor"]
                if cursor is None:
                    break
                began = time.perf_counter()
                response = await client.get(url, params={**params, "limit": "50",
                                                         "cursor": cursor})  # fmt: skip
                later.append(time.perf_counter() - began)
                page = response.json()
    return {
        "first_p50_ms": percentile(first, 0.5) * 1000,
        "first_p99_ms": percentile(first, 0.99) * 1000,
        "later_p50_ms": percentile(later, 0.5) * 1000,
        "later_p99_ms": percentile(later, 0.99) * 1000,
        "pages": float(len(first) + len(later)),
    }


async def queues(args: argparse.Namespace, folder: Path) -> dict[str, dict[str, float]]:
    now = datetime.now(UTC)
    loaded = await load_dossiers(args.dossiers, now)
    print(f"loaded {args.dossiers:,} dossiers in {loaded:.0f} s")
    tokens = TokenService.from_settings(PlatformSettings(jwt_secret=SecretStr(SECRET)))
    officer = tokens.issue(
        Principal(subject="bench-officer", username="canbo1", role=Role.OFFICER,
                  agencies=(AgencyMembership(agency_code=CENTRE, position=Position.DESK),))
    )  # fmt: skip
    port = free_port()
    env = environment(type("S3", (), {"endpoint": "x", "access_key": "x", "secret_key": "x"}),
                      dict.fromkeys(SERVICES, port))  # fmt: skip
    onestop = str(ROOT / ".venv/bin/onestop")
    results: dict[str, dict[str, float]] = {}
    command = [onestop, "serve", "intake", "--port", str(port), "--host", "127.0.0.1"]
    with processes([command], env, folder / "servers.log"):
        await asyncio.to_thread(wait_for_port, port)
        base = f"http://127.0.0.1:{port}"
        await time_pages(base, officer, {}, 5, 5)  # warm-up
        results["queue (all open)"] = await time_pages(base, officer, {}, args.rounds, 20)
        results["queue (overdue)"] = await time_pages(
            base, officer, {"timeliness": "overdue"}, args.rounds, 20
        )
        results["queue (status=processing)"] = await time_pages(
            base, officer, {"status": "processing"}, args.rounds, 20
        )
    return results


def report(title: str, results: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    for name, figures in results.items():
        print(f"  {name:<28} " + "  ".join(f"{k} {v:,.2f}" for k, v in figures.items()))


async def main(args: argparse.Namespace) -> None:
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        sys.exit("wrk and taskset are needed: apt-get install wrk util-linux")
    await fresh_databases()
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as name:
        folder = Path(name)
        if not args.skip_throughput:
            results = await throughput(args, folder)
            report(f"submissions, {args.connections} connections, {args.duration} s", results)
            ratio = results["submission"]["rps"] / results["bare insert"]["rps"]
            print(f"  ratio submission / bare insert: {ratio:.2f}")
        if args.dossiers:
            report(f"officer queues over {args.dossiers:,} dossiers", await queues(args, folder))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--serve-bare", type=int, default=0, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve_bare:
        serve_bare(arguments.serve_bare)
    else:
        asyncio.run(main(arguments))
