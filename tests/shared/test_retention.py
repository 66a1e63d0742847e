"""Pruning the event tables: published outbox rows and applied-event records older than
the retention go; unpublished rows stay however old; on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services import composition
from services.tracking.models import OutboxRecord, ProcessedEvent
from shared.db import Database
from shared.events.retention import prune
from tests.conftest import PgDatabase, embedded_platform

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
OLD, RECENT = NOW - timedelta(days=30), NOW - timedelta(hours=1)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_database: PgDatabase
) -> str:
    if request.param == "postgresql":
        return await pg_database("tracking")
    platform = embedded_platform(tmp_path)
    await composition.migrate(["tracking"], platform)
    return composition.service_settings("tracking", platform).db_url


def outbox_row(*, created: datetime, published: datetime | None) -> OutboxRecord:
    return OutboxRecord(event_id=uuid.uuid4(), topic="dossier", envelope="{}",
                        created_at=created, published_at=published)  # fmt: skip


async def test_what_is_old_and_done_goes_and_the_rest_stays(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.session() as session:
            session.add_all([
                outbox_row(created=OLD, published=OLD),  # goes
                outbox_row(created=OLD, published=OLD),  # goes
                outbox_row(created=OLD, published=RECENT),  # published lately: stays
                outbox_row(created=OLD, published=None),  # never published: stays
            ])  # fmt: skip
            for at in (OLD, OLD, OLD, RECENT):
                session.add(ProcessedEvent(consumer_group="tracking.dossiers",
                                           event_id=uuid.uuid4(), processed_at=at))  # fmt: skip
        removed = await prune(db, outbox=OutboxRecord, inboxes=(ProcessedEvent,),
                              older_than=NOW - timedelta(days=7), batch=2)  # fmt: skip
        assert removed == 2 + 3
        async with db.read_session() as session:
            left = (
                (await session.execute(select(OutboxRecord.published_at).order_by(OutboxRecord.id)))
                .scalars()
                .all()
            )
            assert [p is None or p.replace(tzinfo=UTC) == RECENT for p in left] == [True, True]
            inbox = await session.scalar(select(func.count()).select_from(ProcessedEvent))
            assert inbox == 1
        # Again: nothing more to remove.
        assert await prune(db, outbox=OutboxRecord, inboxes=(ProcessedEvent,),
                           older_than=NOW - timedelta(days=7)) == 0  # fmt: skip
    finally:
        await db.dispose()


def test_every_service_with_event_tables_prunes_them_in_its_workers() -> None:
    jobs = {name: composition.housekeeping(spec) for name, spec in composition.SPECS.items()}
    assert {name for name, found in jobs.items() if found} == {
        "procedures", "intake", "tracking", "documents", "notifications", "gateway",
    }  # fmt: skip
    assert set(composition.consumer_services()) >= {n for n, found in jobs.items() if found}
