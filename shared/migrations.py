"""Alembic, per service: each service has its own migration tree and its own database.

Migrations are run as a command (``onestop migrate``), never at import or start-up of
a service in distributed mode. ``run_migrations`` is what each tree's ``env.py`` calls.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import asyncpg
from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import ensure_sqlite_folder


def alembic_config(migrations: Path, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    # ConfigParser interpolates '%': a password with one must be escaped.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    return config


def upgrade(migrations: Path, database_url: str, revision: str = "head") -> None:
    """Bring a service's database to ``revision``. Synchronous: call it off the event loop."""
    ensure_sqlite_folder(database_url)
    command.upgrade(alembic_config(migrations, database_url), revision)


def downgrade(migrations: Path, database_url: str, revision: str) -> None:
    """Take a service's database back to ``revision`` (tests of a migration's data, the
    benchmarks' bulk loads). Synchronous: call it off the event loop."""
    command.downgrade(alembic_config(migrations, database_url), revision)


def make_revision(migrations: Path, database_url: str, message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    ensure_sqlite_folder(database_url)
    command.revision(alembic_config(migrations, database_url), message=message, autogenerate=True)


async def pending(migrations: Path, database_url: str) -> str | None:
    """What keeps the database from this code's migration head ("at 0002, wants 0003";
    "missing"), or None when it is there. Another release's newer revision counts: the
    code may not read that schema either."""
    scripts = ScriptDirectory.from_config(alembic_config(migrations, database_url))
    heads = set(scripts.get_heads())
    engine = create_async_engine(database_url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            current = set(await connection.run_sync(_current_heads))
    except (OSError, SQLAlchemyError):
        return "missing"  # no database yet, or not reachable yet
    finally:
        await engine.dispose()
    if current == heads:
        return None
    return f"at {', '.join(sorted(current)) or 'nothing'}, wants {', '.join(sorted(heads))}"


def _current_heads(connection: Connection) -> tuple[str, ...]:
    # Alembic tells at INFO which dialect it configured: noise in a loop that polls.
    quiet = logging.getLogger("alembic.runtime.migration")
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        return MigrationContext.configure(connection).get_current_heads()
    finally:
        quiet.setLevel(level)


async def connect(database_url: str, *, database: str | None = None) -> asyncpg.Connection:
    """A plain asyncpg connection to the server of a service's URL (its own database, or
    ``database``), for what is done outside the service's pool: creating a database,
    looking at one before a restore."""
    url = make_url(database_url)
    return await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=database or url.database,
    )


async def ensure_database(database_url: str) -> bool:
    """Create the PostgreSQL database named in the URL if it is missing; True if created.

    Each service owns a database; this saves operators one manual step per service.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql" or not url.database:
        return False
    connection = await connect(database_url, database="postgres")
    try:
        exists = await connection.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", url.database
        )
        if exists:
            return False
        # Identifiers cannot be parameters; quote it as PostgreSQL does.
        quoted = '"' + url.database.replace('"', '""') + '"'
        await connection.execute(f"CREATE DATABASE {quoted}")
        return True
    finally:
        await connection.close()


def run_migrations(metadata: MetaData) -> None:
    """Entry point for a service's ``env.py``: offline SQL or online against the URL."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url, metadata))


async def _run_online(url: str, metadata: MetaData) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure_and_run, metadata)
    finally:
        await engine.dispose()


def comparison_filter(metadata: MetaData) -> Callable[..., bool]:
    """Alembic's ``include_object``: leave out the indexes a service declares as
    PostgreSQL-only (``metadata.info["postgresql_only_indexes"]``), which its migrations
    create by hand on PostgreSQL and which the models cannot describe for SQLite."""
    skipped = set(metadata.info.get("postgresql_only_indexes", ()))

    def include(_object: object, name: str | None, type_: str, *_rest: object) -> bool:
        return not (type_ == "index" and name in skipped)

    return include


def _configure_and_run(connection: Connection, metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=comparison_filter(metadata),
        # SQLite cannot ALTER most things; Alembic's batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
