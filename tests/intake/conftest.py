"""Intake's database alone, on PostgreSQL and on SQLite, migrated to the head."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio.to_thread
import pytest

from services.intake.main import spec
from shared.db import Database
from shared.migrations import upgrade
from tests.conftest import PgDatabase


@pytest.fixture(params=["postgresql", "sqlite"])
async def database(
    request: pytest.FixtureRequest, tmp_path: Path, pg_database: PgDatabase
) -> AsyncIterator[Database]:
    if request.param == "postgresql":
        url = await pg_database("intake")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path}/intake.db"
        await anyio.to_thread.run_sync(upgrade, spec.migrations, url)
    database = Database(url, pool_size=20)
    try:
        yield database
    finally:
        await database.dispose()
