"""The audit chain: verification passes on an honest trail and names every tampering."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import anyio.to_thread
import pytest
from sqlalchemy import delete, update
from typer.testing import CliRunner

from services.cli import app as cli
from services.intake import audit
from services.intake.main import spec
from services.intake.models import AuditEntry
from shared.db import Database
from shared.migrations import upgrade
from tests.conftest import PgDatabase

START = datetime.fromisoformat("2026-11-23T09:00:00+07:00")
STEPS = [("receive", "submitted", "received"), ("assign", "received", "processing"),
         ("resolve", "processing", "resolved"), ("return", "resolved", "returned")]  # fmt: skip


@pytest.fixture(params=["postgresql", "sqlite"])
async def database(
    request: pytest.FixtureRequest, tmp_path: Path, pg_database: PgDatabase
) -> Database:
    if request.param == "postgresql":
        return Database(await pg_database("intake"))
    url = f"sqlite+aiosqlite:///{tmp_path}/intake.db"
    await anyio.to_thread.run_sync(upgrade, spec.migrations, url)
    return Database(url)


async def trail(database: Database, *codes: str) -> None:
    async with database.session() as session:
        for code in codes:
            previous = audit.GENESIS
            for number, (action, before, after) in enumerate(STEPS, start=1):
                entry = audit.append(
                    session,
                    dossier_code=code,
                    sequence=number,
                    prev_hash=previous,
                    actor="canbo1",
                    role="officer",
                    action=action,
                    from_status=before,
                    to_status=after,
                    at=START + timedelta(hours=number),
                    details={"ghi_chú": "Đúng hạn"},
                )
                previous = entry.hash


async def verify(database: Database) -> tuple[int, list[tuple[str, int, str]]]:
    async with database.session() as session:
        checked, breaks = await audit.verify(session)
    return checked, [(b.dossier_code, b.sequence, b.reason) for b in breaks]


async def test_an_honest_trail_verifies(database: Database) -> None:
    try:
        await trail(database, "A", "B")
        assert await verify(database) == (8, [])
    finally:
        await database.dispose()


async def test_an_edited_entry_is_named(database: Database) -> None:
    try:
        await trail(database, "A", "B")
        async with database.session() as session:
            await session.execute(
                update(AuditEntry)
                .where(AuditEntry.dossier_code == "B", AuditEntry.sequence == 3)
                .values(actor="someone-else")
            )
        assert await verify(database) == (8, [("B", 3, "content changed")])
    finally:
        await database.dispose()


async def test_a_deleted_entry_breaks_the_chain(database: Database) -> None:
    try:
        await trail(database, "A")
        async with database.session() as session:
            await session.execute(
                delete(AuditEntry).where(AuditEntry.dossier_code == "A", AuditEntry.sequence == 2)
            )
        assert await verify(database) == (3, [("A", 3, "sequence gap"), ("A", 3, "broken link")])
    finally:
        await database.dispose()


async def test_the_command_exits_1_on_a_tampered_trail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/intake.db"
    await anyio.to_thread.run_sync(upgrade, spec.migrations, url)
    database = Database(url)
    await trail(database, "A")
    monkeypatch.setenv("INTAKE_DATABASE_URL", url)
    runner = CliRunner()
    honest = await anyio.to_thread.run_sync(runner.invoke, cli, ["audit"])
    assert (honest.exit_code, "4 audit entries checked, 0 problems") == (
        0,
        honest.output.strip().splitlines()[-1],
    )
    async with database.session() as session:
        await session.execute(update(AuditEntry).values(to_status="refused"))
    await database.dispose()
    tampered = await anyio.to_thread.run_sync(runner.invoke, cli, ["audit"])
    assert tampered.exit_code == 1
