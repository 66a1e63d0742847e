"""Async database access: one engine per service, one unit of work per request.

PostgreSQL through asyncpg in distributed mode, SQLite through aiosqlite in embedded
mode. The request's session commits when the endpoint succeeds and rolls back when it
fails; services may ``flush()`` but never ``commit()``. A route that only reads may take
a read session instead: no transaction (no ``BEGIN``/``COMMIT`` round trips on
PostgreSQL), each statement sees what was committed when it runs, and writes fail.
A write that is one statement, atomic by itself, may take a statement session: the same
without a transaction, where that statement commits as it runs (PostgreSQL only).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import TypeAdapter
from sqlalchemy import JSON, DateTime, Dialect, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from shared import tracing

# The largest value of an INTEGER column (PostgreSQL's 4 bytes): a number from a caller
# (a version in a path, a count) is bounded by it, or the query fails with a 500.
INT32_MAX = 2**31 - 1


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str, *, pool_size: int = 20, echo: bool = False) -> None:
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        options: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            ensure_sqlite_folder(url)
            # Several writers in one process: wait for the lock rather than fail at once.
            options["connect_args"] = {"timeout": 30}
        else:
            # A fixed pool: what a busy moment opened stays open. Connections beyond the
            # pool's size ("overflow") are closed as soon as they are returned, so a load
            # hovering above it opened and closed one per request, each preparing its
            # statements again: 8% of intake's CPU under the submission benchmark.
            options.update(pool_size=pool_size, max_overflow=0)
        self.engine: AsyncEngine = create_async_engine(url, **options)
        tracing.instrument_engine(self.engine)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            event.listen(self.engine.sync_engine, "checkout", _refuse_closed)
        self.session_factory = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer and cheap transactions: its reads keep them.
        reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.read_session_factory = async_sessionmaker(
            self.engine if self.is_sqlite else reader, sync_session_class=ReadOnlySession
        )
        self.statement_session_factory = async_sessionmaker(reader, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work outside a request (workers, commands): commit or roll back."""
        async with self.session_factory() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """Reads outside a transaction; nothing to commit, and nothing can be written."""
        async with self.read_session_factory() as session:
            yield session

    @asynccontextmanager
    async def statement_session(self) -> AsyncIterator[AsyncSession]:
        """No transaction: each statement commits when it runs. For a write that is one
        statement: it spares the ``BEGIN`` and ``COMMIT`` round trips, and the locks it
        takes are held while the server runs it rather than until the caller commits.
        SQLite has no use for it (its transactions cost no round trip) and refuses."""
        if self.is_sqlite:
            raise RuntimeError("statement sessions are for PostgreSQL")
        async with self.statement_session_factory() as session:
            yield session
            # Nothing to commit on the server; this ends the session's unit of work, so
            # what waits for a commit (the outbox relay's wake-up) hears of it.
            await session.commit()

    def one_statement_session(self) -> AbstractAsyncContextManager[AsyncSession]:
        """For a write that is one statement on PostgreSQL: a statement session there;
        on SQLite, where that write may take several statements, a transaction."""
        return self.session() if self.is_sqlite else self.statement_session()

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


class ReadOnlySession(Session):
    """A session for reads only: on PostgreSQL it runs without a transaction, so a
    write would commit statement by statement. Refused instead: a flush with changes,
    and an ``INSERT``, ``UPDATE`` or ``DELETE`` statement."""

    def flush(self, objects: Sequence[Any] | None = None) -> None:
        if self.new or self.dirty or self.deleted:
            raise RuntimeError("a read session cannot write")
        super().flush(objects)

    def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(statement, "is_dml", False):
            raise RuntimeError("a read session cannot write")
        return super().execute(statement, *args, **kwargs)


def ensure_sqlite_folder(url: str) -> None:
    """SQLite creates the file but not its folder."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _refuse_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Hand out no connection the server has closed (a restart, an idle timeout).

    ``pool_pre_ping`` would ask the server on every check-out: with asyncpg that is
    ``BEGIN``, ``;``, ``ROLLBACK``, three round trips and about 0.27 ms of CPU on every
    request (bench/RESULTS.md, intake). The driver already knows when the server closed
    the socket, so ask it; the pool then replaces the connection (up to three tries).
    A connection that dies unnoticed fails the statement instead, and SQLAlchemy then
    invalidates every connection of the pool older than that failure.
    """
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this connection")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the writer; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work. Used with ``scope="function"`` so that the commit
    happens before the response is sent: a failed commit is reported, never hidden."""
    database: Database = request.app.state.runtime.db
    async with database.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_statement_session(request: Request) -> AsyncIterator[AsyncSession]:
    """For a route whose write is one statement on PostgreSQL (``one_statement_session``)."""
    database: Database = request.app.state.runtime.db
    async with database.one_statement_session() as session:
        yield session


StatementSessionDep = Annotated[AsyncSession, Depends(get_statement_session, scope="function")]


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    database: Database = request.app.state.runtime.db
    async with database.read_session() as session:
        yield session


ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session)]


async def get_database(request: Request) -> Database:
    """The service's database, for a route that opens its own sessions."""
    database: Database = request.app.state.runtime.db
    return database


DatabaseDep = Annotated[Database, Depends(get_database)]


def dialect_insert(session: AsyncSession) -> type[postgresql.Insert] | type[sqlite.Insert]:
    """The ``INSERT`` of the session's database, with its ``ON CONFLICT`` clauses
    (PostgreSQL's and SQLite's are written alike)."""
    return postgresql.Insert if session.get_bind().dialect.name == "postgresql" else sqlite.Insert


class UtcDateTime(TypeDecorator[datetime]):
    """An instant, stored in UTC and read back aware, on PostgreSQL and on SQLite alike.

    SQLite has no time zones: a plain ``DateTime(timezone=True)`` hands back a naive
    value there, and a deadline compared with it is off by the offset. Naive values are
    refused on the way in: an instant without an offset is ambiguous.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("a naive datetime cannot be stored as an instant")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


T = TypeVar("T")


class ModelJSON(TypeDecorator[T]):
    """A JSON column holding typed values (pydantic models, or lists or unions of
    them): validated when read, dumped as JSON when written, so that a reader sees the
    shape and mypy checks it while the database keeps plain JSON."""

    impl = JSON
    cache_ok = True

    def __init__(self, adapter: TypeAdapter[T]) -> None:
        super().__init__()
        self.adapter = adapter

    def process_bind_param(self, value: T | None, dialect: Dialect) -> Any:
        return None if value is None else self.adapter.dump_python(value, mode="json")

    def process_result_value(self, value: Any, dialect: Dialect) -> T | None:
        return None if value is None else self.adapter.validate_python(value)
