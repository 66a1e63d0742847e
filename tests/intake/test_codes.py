"""Dossier codes: per receiving agency and local day, unique under concurrency, no gaps."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from services.intake.repository.codes import format_code, next_code
from shared.db import Database
from tests.conftest import PgDatabase

CENTRE = "000.00.15.H49"
# 23:30 on the 22nd in UTC is already the 23rd in Vietnam (UTC+7).
LATE_UTC = datetime.fromisoformat("2026-11-22T23:30:00+00:00")


async def take(database: Database, agency: str = CENTRE, at: datetime = LATE_UTC) -> str:
    async with database.session() as session:
        return await next_code(session, agency_code=agency, at=at)


async def test_the_local_day_and_a_per_agency_counter(database: Database) -> None:
    assert await take(database) == "000.00.15.H49-261123-0001"
    assert await take(database) == "000.00.15.H49-261123-0002"
    assert await take(database, agency="000.00.07.H49") == "000.00.07.H49-261123-0001"
    next_day = datetime.fromisoformat("2026-11-24T08:00:00+07:00")
    assert await take(database, at=next_day) == "000.00.15.H49-261124-0001"


async def test_a_rolled_back_submission_gives_its_number_back(database: Database) -> None:
    async def failing_submission() -> None:
        async with database.session() as session:
            await next_code(session, agency_code=CENTRE, at=LATE_UTC)
            raise RuntimeError("the submission failed after taking a code")

    with pytest.raises(RuntimeError):
        await failing_submission()
    assert await take(database) == "000.00.15.H49-261123-0001"  # never issued before


async def test_two_hundred_parallel_submissions_get_two_hundred_codes(
    pg_database: PgDatabase,
) -> None:
    database = Database(await pg_database("intake"), pool_size=20)
    try:
        codes = await asyncio.gather(*(take(database) for _ in range(200)))
    finally:
        await database.dispose()
    assert len(set(codes)) == 200
    assert sorted(codes) == [format_code(CENTRE, LATE_UTC.date().replace(day=23), n)
                             for n in range(1, 201)]  # fmt: skip


def test_a_busy_day_gets_more_digits_not_a_repeat() -> None:
    day = datetime.fromisoformat("2026-11-23T09:00:00+07:00").date()
    assert format_code(CENTRE, day, 12345) == "000.00.15.H49-261123-12345"
