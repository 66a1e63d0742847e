"""The queue tallies the triggers keep give the same counts as counting the rows, through
inserts, every kind of update, deletes, rollbacks, a truncation, a migration over
existing dossiers and the folding of past days, also while dossiers change; at any
instant, whether the due dates fall before, on or after its day."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
from alembic import command
from sqlalchemy import column, delete, func, insert, select, table, text, update

from services.intake.machine import Status
from services.intake.main import spec
from services.intake.models import Dossier, QueueTally
from services.intake.repository.queues import OPEN_STATUSES, counted
from services.intake.repository.tallies import NO_DAY, fold_past_days, tallied
from shared.db import Database
from shared.migrations import alembic_config, upgrade

AGENCIES = ("000.00.15.H49", "000.40.01.H49")
# An instant in the afternoon (UTC), so "today" has due dates on both sides of it.
NOON = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
ALL_STATUSES = tuple(status.value for status in Status)
STATUS_FILTERS = (
    OPEN_STATUSES,
    ALL_STATUSES,
    ("processing", "supplement_requested"),
    ("submitted",),
)


def random_dates(rng: random.Random) -> dict[str, datetime | None]:
    """No date, or a due date within three days of NOON and its due-soon instant up to
    a day before it (sometimes the same instant)."""
    if rng.random() < 0.2:
        return {"due_at": None, "due_soon_at": None}
    due = NOON + timedelta(minutes=rng.randrange(-3 * 1440, 3 * 1440))
    return {"due_at": due, "due_soon_at": due - timedelta(minutes=rng.choice([0, 90, 600, 1440]))}


def row(code: str, rng: random.Random) -> dict[str, Any]:
    return {
        "code": code, "status": rng.choice(ALL_STATUSES), "sequence": 1, "audit_sequence": 1,
        "head_hash": "0" * 64, "procedure_code": "P", "procedure_version": 1,
        "procedure_name": "P", "field_code": "F", "agency_code": rng.choice(AGENCIES),
        "receiving_agency_code": AGENCIES[0], "channel": "online", "applicant": "c",
        "submitted_by": "c", "applicant_data": {}, "documents": [], "fees": [],
        "supplement_policy": "pause", "pauses": [], "submitted_at": NOON,
        "supplement_requests": 0, "steps": [], "result_documents": [], "updated_at": NOON,
        **random_dates(rng),
    }  # fmt: skip


async def assert_tallies_match(database: Database) -> None:
    instants = [NOON + timedelta(minutes=m) for m in (-1440, -780, -1, 0, 1, 300, 659, 2000)]
    async with database.session() as session:
        for now in instants:
            for agency in AGENCIES:
                for statuses in STATUS_FILTERS:
                    filters = [Dossier.agency_code == agency, Dossier.status.in_(statuses)]
                    expected = await counted(session, filters, now)
                    assert await tallied(session, agency, statuses, now) == expected, (
                        now,
                        agency,
                        statuses,
                    )


async def test_inserts_updates_deletes_and_rollbacks(database: Database) -> None:
    rng = random.Random(11)
    codes = [f"D-{n:04d}" for n in range(240)]
    async with database.session() as session:
        await session.execute(insert(Dossier), [row(code, rng) for code in codes])
    await assert_tallies_match(database)
    counts = await totals(database)
    assert sum(counts.values()) == 240
    assert len(counts) > 10  # spread over statuses

    for _ in range(12):  # a statement per change, a few changes per transaction
        async with database.session() as session:
            for code in rng.sample(codes, 15):
                change = rng.choice(["status", "dates", "agency", "all", "untouched"])
                values: dict[str, Any] = {}
                if change in ("status", "all"):
                    values["status"] = rng.choice(ALL_STATUSES)
                if change in ("dates", "all"):
                    values.update(random_dates(rng))
                if change in ("agency", "all"):
                    values["agency_code"] = rng.choice(AGENCIES)
                if change == "untouched":  # a listed column set to what it holds
                    values["status"] = Dossier.status
                values["sequence"] = Dossier.sequence + 1
                await session.execute(update(Dossier).where(Dossier.code == code).values(values))
        await assert_tallies_match(database)

    gone = rng.sample(codes, 40)
    async with database.session() as session:
        await session.execute(delete(Dossier).where(Dossier.code.in_(gone)))
    await assert_tallies_match(database)
    assert sum((await totals(database)).values()) == 200

    before = await totals(database)
    try:
        async with database.session() as session:
            await session.execute(update(Dossier).values(status="returned", due_at=None))
            await session.execute(insert(Dossier), [row("D-rolled-back", rng)])
            raise RuntimeError("the transaction fails after changing every dossier")
    except RuntimeError:
        pass
    assert await totals(database) == before


async def totals(database: Database) -> dict[tuple[str, str], int]:
    """The ``status`` tallies: dossiers per agency and status."""
    async with database.session() as session:
        rows = await session.execute(
            select(QueueTally.agency_code, QueueTally.status, QueueTally.dossiers).where(
                QueueTally.kind == "status", QueueTally.dossiers != 0
            )
        )
        return {(agency, status): number for agency, status, number in rows}


async def test_the_migration_tallies_the_dossiers_already_there(database: Database) -> None:
    url = database.engine.url.render_as_string(hide_password=False)
    config = alembic_config(spec.migrations, url)
    await anyio.to_thread.run_sync(command.downgrade, config, "0004")
    async with database.session() as session:
        tables = await session.execute(
            text("SELECT count(*) FROM dossiers")  # the table is there, the tallies not
        )
        assert tables.scalar_one() == 0
        rng = random.Random(5)
        rows = [row(f"E-{n:03d}", rng) for n in range(120)]
        # The table as it was at 0004: only the columns it had, with no model defaults
        # for those a later migration added.
        dossiers = Dossier.__table__.c
        then = table("dossiers", *(column(name, dossiers[name].type) for name in rows[0]))
        await session.execute(insert(then), rows)
    await anyio.to_thread.run_sync(upgrade, spec.migrations, url)
    await assert_tallies_match(database)
    assert sum((await totals(database)).values()) == 120


async def test_truncating_the_dossiers_empties_the_tallies(database: Database) -> None:
    rng = random.Random(3)
    async with database.session() as session:
        await session.execute(insert(Dossier), [row(f"T-{n:03d}", rng) for n in range(30)])
    statement = "DELETE FROM dossiers" if database.is_sqlite else "TRUNCATE dossiers"
    async with database.session() as session:
        await session.execute(text(statement))
    async with database.session() as session:
        left = await session.scalar(select(func.count()).where(QueueTally.dossiers != 0))
    assert left == 0
    await assert_tallies_match(database)


async def change_dossiers(database: Database, codes: list[str], rng: random.Random) -> None:
    """A transaction per dossier: a new status and new dates."""
    for code in codes:
        async with database.session() as session:
            values = {"status": rng.choice(ALL_STATUSES), **random_dates(rng)}
            await session.execute(update(Dossier).where(Dossier.code == code).values(values))


async def fold(database: Database) -> int:
    # The earliest instant assert_tallies_match counts at is a day before NOON.
    async with database.session() as session:
        return await fold_past_days(session, before=(NOON - timedelta(days=1)).date())


async def tally_rows(database: Database) -> int:
    async with database.session() as session:
        return await session.scalar(select(func.count()).select_from(QueueTally)) or 0


async def test_past_days_fold_into_one_row_and_count_the_same(database: Database) -> None:
    rng = random.Random(17)
    codes = [f"F-{n:04d}" for n in range(200)]
    async with database.session() as session:
        await session.execute(insert(Dossier), [row(code, rng) for code in codes])
    before = await tally_rows(database)
    folded = await fold(database)
    assert folded > 0
    assert await tally_rows(database) < before
    await assert_tallies_match(database)
    async with database.session() as session:
        past = await session.scalar(
            select(func.count()).where(
                QueueTally.kind != "status",
                QueueTally.day > NO_DAY,
                QueueTally.day < (NOON - timedelta(days=1)).date(),
            )
        )
    assert past == 0

    # Dossiers whose folded days they leave, and folding again while others change.
    await change_dossiers(database, rng.sample(codes, 60), rng)
    await assert_tallies_match(database)
    changes = [change_dossiers(database, codes[n::4], random.Random(n)) for n in range(4)]
    folds = [fold(database) for _ in range(3)]
    await asyncio.gather(*changes, *folds)
    await fold(database)
    await assert_tallies_match(database)
