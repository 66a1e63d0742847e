"""The procedures service on PostgreSQL and on SQLite, seeded with the real catalogue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio.to_thread
import httpx
import pytest

from services.procedures import seed as procedures_seed
from services.procedures.config import ProceduresSettings
from services.procedures.main import create_app, spec
from shared.db import Database
from shared.migrations import upgrade
from tests.conftest import PgDatabase, distributed_platform, embedded_platform, service_client


@pytest.fixture(params=["postgresql", "sqlite"])
async def procedures_settings(
    request: pytest.FixtureRequest, tmp_path: Path, pg_database: PgDatabase
) -> ProceduresSettings:
    """A seeded procedures database: PostgreSQL with Redis, or SQLite with memory."""
    if request.param == "postgresql":
        settings = ProceduresSettings(
            platform=distributed_platform(), database_url=await pg_database("procedures")
        )
    else:
        settings = ProceduresSettings(platform=embedded_platform(tmp_path))
        await anyio.to_thread.run_sync(upgrade, spec.migrations, settings.db_url)
    database = Database(settings.db_url)
    async with database.session() as session:
        await procedures_seed.seed(session)
    await database.dispose()
    return settings


@pytest.fixture
async def api(procedures_settings: ProceduresSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(procedures_settings)
    async with service_client(app, procedures_settings.platform, name="procedures") as client:
        yield client
