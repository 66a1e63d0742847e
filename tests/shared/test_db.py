"""Instants stay instants on both databases: stored in UTC, read back with their offset.
Connections the server closed are replaced; read and statement sessions run without a
transaction."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import Integer, MetaData, delete, func, insert, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import Database, UtcDateTime
from tests.conftest import PgDatabase

ICT = timezone(timedelta(hours=7))


class Base(DeclarativeBase):
    metadata = MetaData()


class Moment(Base):
    __tablename__ = "moments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(
    request: pytest.FixtureRequest, tmp_path: Path, pg_database: PgDatabase
) -> Database:
    url = (
        f"sqlite+aiosqlite:///{tmp_path}/moments.db"
        if request.param == "sqlite"
        else await pg_database("national_portal")
    )
    database = Database(url)
    async with database.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    return database


async def test_an_instant_reads_back_aware_and_equal(database: Database) -> None:
    moment = datetime(2026, 11, 23, 9, 0, tzinfo=ICT)
    try:
        async with database.session() as session:
            session.add(Moment(id=1, at=moment))
        async with database.session() as session:
            stored = await session.scalar(select(Moment.at))
            later = await session.scalar(
                select(Moment.id).where(Moment.at > moment - timedelta(minutes=1))
            )
        assert stored == moment
        assert stored is not None
        assert stored.utcoffset() == timedelta(0)
        assert later == 1  # comparisons in SQL see the same instant
    finally:
        await database.dispose()


async def test_a_naive_datetime_is_refused(database: Database) -> None:
    try:
        async with database.session() as session:
            session.add(Moment(id=2, at=datetime(2026, 11, 23, 9, 0)))
            with pytest.raises(StatementError, match="naive"):
                await session.flush()
            await session.rollback()
    finally:
        await database.dispose()


async def test_connections_the_server_closed_are_replaced(pg_database: PgDatabase) -> None:
    """A PostgreSQL restart closes every pooled connection: the next requests get new ones
    instead of failing (the pool checks the driver's socket on check-out)."""
    url = await pg_database("national_portal")
    database = Database(url, pool_size=2)
    try:
        pids = set()
        for _ in range(2):
            async with database.engine.connect() as first, database.engine.connect() as second:
                for connection in (first, second):
                    pids.add(await connection.scalar(text("SELECT pg_backend_pid()")))
        assert len(pids) == 2  # both pooled connections were used and kept
        admin = await asyncpg.connect(url.replace("+asyncpg", ""))
        try:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid", list(pids)
            )
        finally:
            await admin.close()
        await asyncio.sleep(0.2)  # the server's goodbye reaches the idle sockets
        for _ in range(3):
            async with database.session() as session:
                pid = await session.scalar(text("SELECT pg_backend_pid()"))
            assert pid not in pids
    finally:
        await database.dispose()


async def test_a_read_session_reads_and_refuses_to_write(database: Database) -> None:
    moment = datetime(2026, 11, 23, 9, 0, tzinfo=ICT)
    try:
        async with database.session() as session:
            session.add(Moment(id=3, at=moment))
        async with database.read_session() as session:
            assert await session.scalar(select(Moment.at)) == moment
            session.add(Moment(id=4, at=moment))
            with pytest.raises(RuntimeError, match="cannot write"):
                await session.flush()
            session.expunge_all()
            with pytest.raises(RuntimeError, match="cannot write"):
                await session.execute(delete(Moment))
        async with database.session() as session:
            assert await session.scalar(select(func.count()).select_from(Moment)) == 1
    finally:
        await database.dispose()


async def test_a_statement_session_commits_each_statement_as_it_runs(
    database: Database,
) -> None:
    moment = datetime(2026, 11, 23, 9, 0, tzinfo=ICT)
    try:
        if database.is_sqlite:
            with pytest.raises(RuntimeError, match="PostgreSQL"):
                async with database.statement_session():
                    pass
            return
        async with database.statement_session() as session:
            await session.execute(insert(Moment), {"id": 5, "at": moment})
            async with database.read_session() as other:  # before this session ends
                assert await other.scalar(select(Moment.at).where(Moment.id == 5)) == moment
    finally:
        await database.dispose()


async def test_a_read_session_opens_no_transaction_on_postgresql(
    pg_database: PgDatabase,
) -> None:
    # Seen from another connection, between two statements: a request's session sits
    # in its transaction, a read session has none to sit in.
    url = await pg_database("national_portal")
    database = Database(url)
    observer = await asyncpg.connect(url.replace("+asyncpg", ""))
    state = "SELECT state FROM pg_stat_activity WHERE pid = $1"
    try:
        for sessions, expected in (
            (database.read_session, "idle"),
            (database.statement_session, "idle"),
            (database.session, "idle in transaction"),
        ):
            async with sessions() as session:
                pid = await session.scalar(text("SELECT pg_backend_pid()"))
                assert await observer.fetchval(state, pid) == expected
    finally:
        await observer.close()
        await database.dispose()
