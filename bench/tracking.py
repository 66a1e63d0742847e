"""Tracking at scale on PostgreSQL: classifying 1,000,000 open dossiers, and a year's
statistics over 1,000,000 finished ones.

The clocks are made with the real engine over the national calendar (due dates, the
due-soon instants, finish times in working time) and loaded with COPY; then the
platform's own queries run (``services/tracking/repository.py``): the open classes at a
moment (overdue, due soon, paused, on track), the timeliness counts of the year by
agency, the average resolution time per procedure, and the counts behind the 766
index. The baseline in the same run is a bare ``count(*)`` over the same rows: the cost
of reading them at all.

    python bench/tracking.py [--open 1000000] [--finished 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.tracking import repository  # noqa: E402
from services.tracking.calendars import Resolved, build_spec  # noqa: E402
from services.tracking.main import spec  # noqa: E402
from services.tracking.models import ClockStatus, DossierClock  # noqa: E402
from services.tracking.seed import national_rows  # noqa: E402
from shared.db import Database  # noqa: E402
from shared.migrations import upgrade  # noqa: E402
from shared.worktime import WorkingTime  # noqa: E402

DATABASE = "onestop_bench_tracking"
AGENCIES = [f"000.{n // 100:02d}.{n % 100:02d}.H49" for n in range(40)]
PROCEDURES = [f"P-{n:04d}" for n in range(300)]
DAYS = (1, 2, 3, 5, 7, 10, 15, 20)
YEAR = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # a Friday, 10:00 in Hà Nội


def engine() -> WorkingTime:
    calendar, days, _ = national_rows()
    return WorkingTime(build_spec(Resolved((calendar,), None), days))


def clocks(
    time_engine: WorkingTime, count: int, *, finished: bool, seed: int
) -> list[tuple[Any, ...]]:
    """Rows of dossier_clocks, in the column order of COLUMNS."""
    rng = random.Random(seed)
    rows = []
    start_span = (NOW - YEAR[0]).total_seconds() if not finished else 330 * 86400
    for number in range(count):
        received = YEAR[0] + timedelta(seconds=rng.randrange(int(start_span)))
        if not finished:  # open dossiers were received in the last weeks
            received = NOW - timedelta(seconds=rng.randrange(40 * 86400))
        minutes = rng.choice(DAYS) * 480
        due = time_engine.due_at(received, minutes)
        paused = not finished and rng.random() < 0.1
        finished_at = timeliness = used = None
        if finished:
            used = minutes * rng.uniform(0.3, 1.2)
            finished_at = time_engine.due_at(received, used)
            if finished_at > due:
                timeliness = "late"
            elif (
                finished_at.astimezone(time_engine.zone).date()
                < due.astimezone(time_engine.zone).date()
            ):
                timeliness = "early"
            else:
                timeliness = "on_time"
        rows.append(
            (
                f"{'F' if finished else 'O'}-{seed}-{number:07d}",
                rng.choice(AGENCIES),
                rng.choice(PROCEDURES),
                None,
                rng.choice(("online", "counter", "post")),
                received,
                float(minutes),
                "working_days",
                ClockStatus.FINISHED.value if finished else ClockStatus.OPEN.value,
                paused,
                None if paused else due,
                None if paused else time_engine.before(due, 480),
                None,
                None if paused else due,
                0,
                False,
                finished_at,
                "resolved" if finished else None,
                timeliness,
                used,
                rng.choice((0, 0, 1)),
                2,
                None,
                rng.random() < 0.5 if finished else None,
                1,
            )
        )
    return rows


COLUMNS = [
    "dossier_code",
    "agency_code",
    "procedure_code",
    "field_code",
    "channel",
    "received_at",
    "budget_minutes",
    "time_unit",
    "status",
    "paused",
    "due_at",
    "due_soon_at",
    "breached_at",
    "appointment_at",
    "supplement_requests",
    "reappointed",
    "finished_at",
    "outcome",
    "timeliness",
    "used_minutes",
    "reused_documents",
    "documents",
    "paid_online",
    "electronic_result",
    "last_sequence",
]


async def prepare(admin_url: str, open_count: int, finished_count: int) -> str:
    url = make_url(admin_url)
    dsn: dict[str, Any] = {
        "host": url.host,
        "port": url.port or 5432,
        "user": url.username,
        "password": url.password,
    }
    admin = await asyncpg.connect(database=url.database or "postgres", **dsn)
    await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    await admin.close()
    bench_url = url.set(database=DATABASE).render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade, spec.migrations, bench_url)
    time_engine = engine()
    began = time.perf_counter()
    rows = clocks(time_engine, open_count, finished=False, seed=1)
    rows += clocks(time_engine, finished_count, finished=True, seed=2)
    print(f"made {len(rows):,} clocks with the engine in {time.perf_counter() - began:.1f} s")
    connection = await asyncpg.connect(database=DATABASE, **dsn)
    began = time.perf_counter()
    await connection.copy_records_to_table("dossier_clocks", records=rows, columns=COLUMNS)
    await connection.execute("VACUUM ANALYZE dossier_clocks")
    await connection.close()
    print(f"loaded with COPY and analysed in {time.perf_counter() - began:.1f} s")
    return bench_url


async def timed(repeat: int, run: Callable[[], Awaitable[object]]) -> tuple[float, object]:
    results, seconds = None, []
    for _ in range(repeat):
        began = time.perf_counter()
        results = await run()
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds), results


async def main(args: argparse.Namespace) -> None:
    url = await prepare(args.postgres, args.open, args.finished)
    database = Database(url, pool_size=2)
    start, end = YEAR
    try:
        async with database.session() as session:

            async def bare_open() -> object:
                statement = select(func.count()).where(DossierClock.status == ClockStatus.OPEN)
                return await session.scalar(statement)

            async def classify_open() -> object:
                return await repository.timeliness_counts(
                    session, start=start, end=end, now=NOW, group_by=None,
                    agencies=None, procedure=None, field=None,
                )  # fmt: skip

            async def bare_year() -> object:
                statement = select(func.count()).where(
                    DossierClock.finished_at >= YEAR[0], DossierClock.finished_at < YEAR[1]
                )
                return await session.scalar(statement)

            async def year_by_agency() -> object:
                return await repository.timeliness_counts(
                    session, start=start, end=end, now=NOW, group_by="agency",
                    agencies=None, procedure=None, field=None,
                )  # fmt: skip

            async def resolution() -> object:
                return await repository.resolution_times(
                    session, start=start, end=end, agencies=None, procedure=None, field=None
                )

            async def index_counts() -> object:
                return await repository.index_counts(session, start=start, end=end, agencies=None)

            await session.execute(text("SELECT 1"))
            print(f"\n{'question':<58}{'median s':>10}")
            for name, run in (
                (f"baseline: count(*) of the {args.open:,} open clocks", bare_open),
                ("classify every open clock at a moment (+ year counts)", classify_open),
                (f"baseline: count(*) of the {args.finished:,} finished in the year", bare_year),
                ("timeliness of the year by agency (40 groups)", year_by_agency),
                ("average resolution time per procedure (300)", resolution),
                ("counts behind the 766 indicators", index_counts),
            ):
                seconds, _ = await timed(args.repeat, run)
                print(f"{name:<58}{seconds:>10.3f}")
            total = (await classify_open())[0]  # type: ignore[index]
            print(
                "\nopen classes at",
                NOW.isoformat(),
                {k: total[k] for k in ("overdue", "due_soon", "paused", "on_track")},
            )
    finally:
        await database.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--open", type=int, default=1_000_000)
    parser.add_argument("--finished", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    asyncio.run(main(parser.parse_args()))
