"""Fixtures on real servers: PostgreSQL, Redis, an S3 server (SeaweedFS)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import anyio.to_thread
import asyncpg
import httpx
import pytest
import uvloop
from fastapi import FastAPI
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from services.composition import SPECS
from shared.auth import Principal, Role, TokenService
from shared.migrations import upgrade
from shared.settings import Environment, Mode, PlatformSettings
from tests.infra import S3Server, seaweedfs


class TestServers(BaseSettings):
    """Where the test servers are; ``ONESTOP_TEST_*`` overrides the defaults."""

    model_config = SettingsConfigDict(env_prefix="ONESTOP_TEST_")

    postgres_url: str = "postgresql+asyncpg://postgres:postgres@127.0.0.1:5432/postgres"
    redis_url: str = "redis://127.0.0.1:6379/15"


SERVERS = TestServers()
RUN_ID = uuid.uuid4().hex[:8]


async def _admin() -> asyncpg.Connection:
    url = make_url(SERVERS.postgres_url)
    return await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database or "postgres",
    )


def _database_url(name: str) -> str:
    return make_url(SERVERS.postgres_url).set(database=name).render_as_string(hide_password=False)


async def _drop(connection: asyncpg.Connection, name: str) -> None:
    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """uvloop, as uvicorn runs the services in production."""
    return {"uvloop": uvloop.new_event_loop}


@pytest.fixture(scope="session")
async def pg_templates() -> AsyncIterator[dict[str, str]]:
    """One migrated template database per service, made once per test run."""
    names = {service: f"onestop_tmpl_{RUN_ID}_{service}" for service in SPECS}
    admin = await _admin()
    try:
        for service, name in names.items():
            await _drop(admin, name)
            await admin.execute(f'CREATE DATABASE "{name}"')
            await anyio.to_thread.run_sync(upgrade, SPECS[service].migrations, _database_url(name))
        yield names
    finally:
        for name in names.values():
            await _drop(admin, name)
        await admin.close()


PgDatabase = Callable[[str], Awaitable[str]]


@pytest.fixture
async def pg_database(pg_templates: dict[str, str]) -> AsyncIterator[PgDatabase]:
    """Make a fresh, migrated database of a service (copied from its template); dropped after."""
    made: list[str] = []
    admin = await _admin()

    async def make(service: str) -> str:
        name = f"onestop_t_{uuid.uuid4().hex[:12]}_{service}"
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_templates[service]}"')
        made.append(name)
        return _database_url(name)

    try:
        yield make
    finally:
        for name in made:
            await _drop(admin, name)
        await admin.close()


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(SERVERS.redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def topic() -> str:
    """A stream topic no other test uses."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


def distributed_platform(**overrides: object) -> PlatformSettings:
    values: dict[str, object] = {
        "mode": Mode.DISTRIBUTED,
        "environment": Environment.TEST,
        "redis_url": SERVERS.redis_url,
    }
    values.update(overrides)
    return PlatformSettings(**values)  # type: ignore[arg-type]


def embedded_platform(data_dir: Path, **overrides: object) -> PlatformSettings:
    values: dict[str, object] = {
        "mode": Mode.EMBEDDED,
        "environment": Environment.TEST,
        "data_dir": data_dir,
    }
    values.update(overrides)
    return PlatformSettings(**values)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def service_client(
    app: FastAPI, platform: PlatformSettings, *, name: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of one service app (its lifespan running), with test tokens in headers:
    ``x-test-admin`` and ``x-test-citizen`` (send one as ``authorization: Bearer …``)."""
    tokens = TokenService.from_settings(platform)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=f"http://{name}"
        ) as client,
    ):
        client.headers["x-test-admin"] = tokens.issue(
            Principal(subject="admin-1", username="admin", role=Role.ADMIN)
        )
        client.headers["x-test-citizen"] = tokens.issue(
            Principal(subject="c-1", username="001099000001", role=Role.CITIZEN)
        )
        yield client
