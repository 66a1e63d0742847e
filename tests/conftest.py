"""Fixtures on real servers: PostgreSQL, Redis, an S3 server (SeaweedFS)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import anyio.to_thread
import asyncpg
import httpx
import pytest
import uvloop
from fastapi import FastAPI
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from services.bootstrap import SEEDS
from services.composition import SPECS
from shared.auth import Principal, Role, TokenService
from shared.db import Database
from shared.migrations import upgrade
from shared.settings import Environment, Mode, PlatformSettings
from tests.infra import S3Server, seaweedfs


class TestServers(BaseSettings):
    """Where the test servers are; ``ONESTOP_TEST_*`` overrides the defaults."""

    model_config = SettingsConfigDict(env_prefix="ONESTOP_TEST_")

    postgres_url: str = "postgresql+asyncpg://postgres:postgres@127.0.0.1:5432/postgres"
    redis_url: str = "redis://127.0.0.1:6379/15"


def _worker_index() -> int:
    """This process's number among pytest-xdist's workers (``gw0`` is 0; alone, 0)."""
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


def _own_redis_database(url: str) -> str:
    """Redis is shared by the parallel workers: each uses a database of its own (15, 14,
    ...), so that one worker emptying its event store never touches another's."""
    parts = urlsplit(url)
    database = (int(parts.path.strip("/") or 0) - _worker_index()) % 16
    return urlunsplit(parts._replace(path=f"/{database}"))


SERVERS = TestServers()
SERVERS.redis_url = _own_redis_database(SERVERS.redis_url)
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


class PgDatabase(Protocol):
    """Makes a fresh database of a service, migrated (``seeded``: and with the demo data
    ``onestop seed`` loads), and gives its URL."""

    def __call__(self, service: str, *, seeded: bool = False) -> Awaitable[str]: ...


class Templates:
    """The template databases of this run: each service's migrated one, made up front,
    and its seeded copy, made the first time a test asks (seeding costs about a second
    a platform, mostly hashing the demo accounts' passwords)."""

    def __init__(self, admin: asyncpg.Connection) -> None:
        self.admin = admin
        self.names: dict[tuple[str, bool], str] = {}
        # PostgreSQL 15+ copies a small database faster file by file than through the
        # WAL (about 70 ms against 290 ms here).
        version = admin.get_server_version()
        self.strategy = " STRATEGY FILE_COPY" if version.major >= 15 else ""
        self._lock = asyncio.Lock()
        self._drops: list[asyncio.Task[None]] = []

    async def create(
        self,
        name: str,
        template: str | None = None,
        *,
        connection: asyncpg.Connection | None = None,
    ) -> None:
        source = f' TEMPLATE "{template}"{self.strategy}' if template else ""
        await (connection or self.admin).execute(f'CREATE DATABASE "{name}"{source}')

    async def migrated(self, service: str) -> str:
        name = f"onestop_tmpl_{RUN_ID}_{service}"
        await self.create(name)
        await anyio.to_thread.run_sync(upgrade, SPECS[service].migrations, _database_url(name))
        self.names[service, False] = name
        return name

    async def get(self, service: str, *, seeded: bool) -> str:
        seeded = seeded and service in SEEDS  # a service without demo data: as migrated
        async with self._lock:
            if (service, seeded) not in self.names:
                name = f"onestop_tmpl_{RUN_ID}_{service}_seeded"
                await self.create(name, self.names[service, False])
                database = Database(_database_url(name))
                async with database.session() as session:
                    await SEEDS[service].load(session)
                await database.dispose()
                self.names[service, True] = name
            return self.names[service, seeded]

    def drop_later(self, names: list[str], connection: asyncpg.Connection) -> None:
        """Drop a finished test's databases while the next test runs; awaited at the end."""

        async def drop() -> None:
            try:
                for name in names:
                    await _drop(connection, name)
            finally:
                await connection.close()

        self._drops.append(asyncio.create_task(drop()))

    async def close(self) -> None:
        try:
            await asyncio.gather(*self._drops)
        finally:
            for name in self.names.values():
                await _drop(self.admin, name)
            await self.admin.close()


@pytest.fixture(scope="session")
async def pg_templates() -> AsyncIterator[Templates]:
    """One migrated template database per service, made once per test run (per worker)."""
    templates = Templates(await _admin())
    try:
        for service in SPECS:
            await templates.migrated(service)
        yield templates
    finally:
        await templates.close()


@pytest.fixture
async def pg_database(pg_templates: Templates) -> AsyncIterator[PgDatabase]:
    """Make fresh databases of a service, copied from its template; dropped after."""
    made: list[str] = []
    admin = await _admin()

    async def make(service: str, *, seeded: bool = False) -> str:
        template = await pg_templates.get(service, seeded=seeded)
        name = f"onestop_t_{uuid.uuid4().hex[:12]}_{service}"
        await admin.execute(
            f'CREATE DATABASE "{name}" TEMPLATE "{template}"{pg_templates.strategy}'
        )
        made.append(name)
        return _database_url(name)

    try:
        yield make
    finally:
        pg_templates.drop_later(made, admin)


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
