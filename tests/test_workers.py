"""The distributed workers: the relay publishes procedures' agencies to Redis Streams and
the consumers worker applies them to tracking, as `onestop worker relay|consume` run them."""

from __future__ import annotations

import asyncio
from functools import partial

import anyio
import pytest
from sqlalchemy import func, select

from services import bootstrap, composition
from services.procedures.models import Agency as CatalogueAgency
from services.tracking.models import Agency as TrackingAgency
from shared.db import Database
from tests.conftest import SERVERS, PgDatabase


async def count(url: str, model: type[CatalogueAgency] | type[TrackingAgency]) -> int:
    database = Database(url)
    try:
        async with database.session() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        await database.dispose()


async def test_agencies_flow_from_procedures_to_tracking_over_redis(
    pg_database: PgDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONESTOP_MODE", "distributed")
    monkeypatch.setenv("ONESTOP_ENVIRONMENT", "test")
    monkeypatch.setenv("ONESTOP_REDIS_URL", SERVERS.redis_url)
    urls = {name: await pg_database(name) for name in ("procedures", "tracking")}
    for name, url in urls.items():
        monkeypatch.setenv(f"{name.upper()}_DATABASE_URL", url)
        database = Database(url)
        async with database.session() as session:
            await bootstrap.SEEDS[name].load(session)
        await database.dispose()
    agencies = await count(urls["procedures"], CatalogueAgency)
    assert agencies > 0

    stop = asyncio.Event()
    async with anyio.create_task_group() as workers:
        workers.start_soon(composition.run_relays, ["procedures"], stop)
        workers.start_soon(partial(composition.run_consumers, worker="test"), ["tracking"], stop)
        try:
            with anyio.fail_after(20):
                while await count(urls["tracking"], TrackingAgency) < agencies:  # noqa: ASYNC110
                    await anyio.sleep(0.1)  # polling another process's database, no event
        finally:
            stop.set()
    assert await count(urls["tracking"], TrackingAgency) == agencies
