"""Each service's migrations build exactly what its models declare, on PostgreSQL and SQLite."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import JSON, ColumnElement, Connection, column, select, table

from services.composition import SPECS
from services.intake.models import Dossier, StepRecord
from shared.db import Database, ModelJSON, UtcDateTime
from shared.migrations import comparison_filter, downgrade, upgrade
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


def _placeholder(column: ColumnElement[Any]) -> object:
    """A value of the column's type, for a row that only has to exist."""
    if isinstance(column.type, JSON | ModelJSON):
        return "[]"  # written as the text the column holds
    if isinstance(column.type, UtcDateTime):
        return datetime(2026, 2, 13, 2, 0, tzinfo=UTC)
    return column.type.python_type()


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
async def test_steps_forwarded_before_0011_are_open_in_their_agencys_queue(
    engine: str, tmp_path: Path, pg_database: PgDatabase
) -> None:
    """Steps kept only in a dossier's JSON before 0011 are copied into ``forward_steps``
    as open and undated: the agency they went to then sees them and answers them."""
    migrations = SPECS["intake"].migrations
    if engine == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/intake.db"
    else:
        url = await pg_database("intake")
        await anyio.to_thread.run_sync(downgrade, migrations, url, "0010")
    await anyio.to_thread.run_sync(upgrade, migrations, url, "0010")
    step = {"agency_code": "000.00.07.H49", "budget_hours": 8.0, "note": None,
            "forwarded_at": "2026-02-13T02:00:00+00:00", "forwarded_by": "chuyenvien1"}  # fmt: skip
    database = Database(url)
    try:
        async with database.engine.begin() as connection:
            for code, steps in (("A-1", [step]), ("A-2", [])):
                values = {column.name: _placeholder(column)
                          for column in Dossier.__table__.c if not column.nullable}  # fmt: skip
                values.update(code=code, steps=json.dumps(steps))
                # A plain table of the names: the rows as 0010 held them, untyped.
                dossiers = table("dossiers", *(column(name) for name in values))
                await connection.execute(dossiers.insert().values(**values))
        await anyio.to_thread.run_sync(upgrade, migrations, url)
        async with database.engine.connect() as connection:
            rows = (await connection.execute(select(StepRecord.__table__))).mappings().all()
    finally:
        await database.dispose()
    assert [(r["dossier_code"], r["number"], r["agency_code"], r["due_at"], r["completed_at"])
            for r in rows] == [("A-1", 1, "000.00.07.H49", None, None)]  # fmt: skip
    assert rows[0]["forwarded_at"] == datetime(2026, 2, 13, 2, 0, tzinfo=UTC)
