"""Each service's migrations build exactly what its models declare, on PostgreSQL and SQLite."""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from services.composition import SPECS
from shared.db import Database
from shared.migrations import comparison_filter, upgrade
from tests.conftest import PgDatabase


def _differences(connection: Connection, service: str) -> list[object]:
    metadata = SPECS[service].metadata
    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "include_object": comparison_filter(metadata)},
    )
    return list(compare_metadata(context, metadata))


@pytest.mark.parametrize("service", list(SPECS))
async def test_postgres_schema_matches_the_models(service: str, pg_database: PgDatabase) -> None:
    database = Database(await pg_database(service))
    try:
        async with database.engine.connect() as connection:
            assert await connection.run_sync(_differences, service) == []
    finally:
        await database.dispose()


@pytest.mark.parametrize("service", list(SPECS))
async def test_sqlite_schema_matches_the_models_and_upgrading_twice_is_harmless(
    service: str, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/{service}.db"
    await anyio.to_thread.run_sync(upgrade, SPECS[service].migrations, url)
    await anyio.to_thread.run_sync(upgrade, SPECS[service].migrations, url)
    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            assert await connection.run_sync(_differences, service) == []
    finally:
        await database.dispose()


async def test_later_migrations_keep_the_queue_tally_triggers(tmp_path: Path) -> None:
    """On SQLite a batch ALTER copies a table into a new one and leaves its triggers
    behind: intake's queue counts (0005) would then silently stop following dossiers."""
    url = f"sqlite+aiosqlite:///{tmp_path}/intake.db"
    await anyio.to_thread.run_sync(upgrade, SPECS["intake"].migrations, url)
    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            rows = await connection.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'dossiers'"
            )
            triggers = {name for (name,) in rows}
    finally:
        await database.dispose()
    assert triggers == {f"dossiers_queue_tally_{event}" for event in ("insert", "update", "delete")}
