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
from shared.auth import Principal, Role, TokenService
from shared.db import Database
from shared.migrations import upgrade
from tests.conftest import PgDatabase, distributed_platform, embedded_platform


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
    settings = procedures_settings
    app = create_app(settings)
    tokens = TokenService.from_settings(settings.platform)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://procedures"
        ) as client,
    ):
        client.headers["x-test-admin"] = tokens.issue(
            Principal(subject="admin-1", username="admin", role=Role.ADMIN)
        )
        client.headers["x-test-citizen"] = tokens.issue(
            Principal(subject="c-1", username="001099000001", role=Role.CITIZEN)
        )
        yield client
