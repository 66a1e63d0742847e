"""What a running service holds: its database, bus, outbox, token verifier, storage.

A service's lifespan opens one ``Runtime`` and puts it on ``app.state.runtime``; the
workers (relay, consumers) open the same runtime without an app.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from redis.asyncio import Redis
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import TokenService
from shared.cache import Cache, MemoryCache, RedisCache
from shared.contracts.events import EventEnvelope
from shared.contracts.health import ReadinessReport
from shared.db import Database
from shared.events import (
    Consumer,
    EventBus,
    InboxMixin,
    InProcessBus,
    Outbox,
    OutboxMixin,
    RedisStreamBus,
)
from shared.health import Check, run_checks
from shared.settings import ServiceSettings
from shared.storage import ObjectStorage, StorageUnavailable

logger = logging.getLogger("onestop.runtime")


# How a service applies an event: with its runtime (its outbox and settings, for the
# events and decisions that follow) and the consumer's transaction.
ServiceEventHandler = Callable[["Runtime", AsyncSession, EventEnvelope], Awaitable[None]]


@dataclass(frozen=True)
class ConsumerSpec:
    """A consumer group of a service: the topics it reads, the event types it applies
    (None: every one) and how it applies an event."""

    group: str
    topics: tuple[str, ...]
    handler: ServiceEventHandler
    inbox_model: type[InboxMixin]
    types: frozenset[str] | None = None
    # Consumers of the group each worker process runs: events the group shares among
    # them, applied side by side (a handler that mostly waits on its database gains).
    parallel: int = 1

    def consumers(self, runtime: Runtime, *, name: str) -> list[Consumer]:
        """The worker's consumers of this group, ``name`` and a number each."""
        if self.parallel == 1:
            return [self.consumer(runtime, name=name)]
        return [self.consumer(runtime, name=f"{name}-{n}") for n in range(self.parallel)]

    def consumer(self, runtime: Runtime, *, name: str) -> Consumer:
        return Consumer(
            bus=runtime.bus,
            db=runtime.db,
            inbox_model=self.inbox_model,
            group=self.group,
            name=name,
            topics=self.topics,
            handler=functools.partial(self.handler, runtime),
            types=self.types,
        )


@dataclass(frozen=True)
class PeriodicSpec:
    """A job a service runs every ``interval_seconds`` (e.g. tracking's deadline scanner).

    Several workers may run it at once: a job must be safe to repeat and to overlap.
    """

    name: str
    interval_seconds: float
    job: Callable[[Runtime], Awaitable[object]]

    async def run(self, runtime: Runtime, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.job(runtime)
            except Exception:
                logger.warning("periodic job failed", extra={"job": self.name}, exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval_seconds)


@dataclass(frozen=True)
class BackgroundJob:
    """A task a service runs beside its app until ``stop`` (the portal sync worker): it
    loops on its own and must be safe to run in several processes at once."""

    name: str
    run: Callable[[Runtime, asyncio.Event], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class ServiceSpec:
    """What the composition root needs to know about a service."""

    name: str
    settings_type: type[ServiceSettings]
    create_app: Callable[..., Any]
    metadata: MetaData
    migrations: Path
    outbox_model: type[OutboxMixin] | None = None
    consumers: tuple[ConsumerSpec, ...] = ()
    # Periodic jobs and other background tasks, run by the workers (``spawn_workers``,
    # ``onestop worker consume``).
    jobs: tuple[PeriodicSpec | BackgroundJob, ...] = ()
    # What its /metrics reads at each scrape beside the requests (shared/metrics.py), in
    # its app and in the workers that run its parts.
    probes: tuple[Callable[[Runtime], Awaitable[None]], ...] = ()


@dataclass
class Runtime:
    name: str
    settings: ServiceSettings
    db: Database
    bus: EventBus
    tokens: TokenService
    outbox: Outbox | None = None
    redis: Redis | None = None
    storage: ObjectStorage | None = None
    # Shared by the service's instances through Redis; per process in embedded mode.
    cache: Cache = field(default_factory=MemoryCache)

    # Clients of the other services this one calls, when its app made them (the
    # gateway's upstreams); a worker process without the app makes its own.
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    # A service's own dependencies (a scanner daemon), checked like the others.
    extra_checks: dict[str, Check] = field(default_factory=dict)
    # States worth reporting that are not failures ("malware_scan": "off").
    info: dict[str, str] = field(default_factory=dict)

    @property
    def events(self) -> Outbox:
        """The service's outbox, for code that only runs where there is one."""
        if self.outbox is None:
            raise RuntimeError(f"{self.name} writes no events: it has no outbox")
        return self.outbox

    def checks(self) -> dict[str, Check]:
        checks: dict[str, Check] = {"database": self.db.ping}
        if self.redis is not None:
            checks["redis"] = self.bus.ping
        if self.storage is not None:
            checks["storage"] = self.storage.ping
        return checks | self.extra_checks

    async def readiness(self) -> ReadinessReport:
        report = await run_checks(self.name, self.checks())
        report.checks.update(self.info)
        return report


def connect_redis(url: str) -> Redis:
    # Bounded socket waits: a dead Redis makes calls fail in seconds, not hang.
    return Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=2,
        socket_timeout=10,
        health_check_interval=30,
    )


@asynccontextmanager
async def open_runtime(
    settings: ServiceSettings,
    *,
    outbox_model: type[OutboxMixin] | None = None,
    bus: EventBus | None = None,
    storage: ObjectStorage | None = None,
) -> AsyncIterator[Runtime]:
    """Open a service's resources and close them on exit.

    In distributed mode the bus is Redis Streams. In embedded mode the composition root
    hands every service the same in-process bus; a service started alone gets its own.
    """
    db = Database(settings.db_url, pool_size=settings.db_pool_size)
    redis: Redis | None = None
    if bus is None:
        if settings.uses_redis:
            redis = connect_redis(settings.platform.redis_url)
            bus = RedisStreamBus(redis)
        else:
            bus = InProcessBus()
    name = settings.service_name
    runtime = Runtime(
        name=name,
        settings=settings,
        db=db,
        bus=bus,
        tokens=TokenService.from_settings(settings.platform),
        outbox=Outbox(outbox_model, source=name) if outbox_model is not None else None,
        redis=redis,
        storage=storage,
        cache=RedisCache(redis) if redis is not None else MemoryCache(),
    )
    if storage is not None:
        try:
            await storage.ensure_bucket()
        except StorageUnavailable:
            # Start anyway: /readyz reports the store until it answers.
            logger.warning("object storage unavailable at start-up", extra={"service": name})
    try:
        yield runtime
    finally:
        await db.dispose()
        if redis is not None:
            await redis.aclose()
        if storage is not None:
            await storage.close()


async def get_outbox(request: Request) -> Outbox:
    """The service's outbox, to add events within the request's unit of work.

    Dependencies are ``async def`` even when they only read app state: FastAPI runs a
    plain ``def`` dependency in a worker thread, a thread hop on every request.
    """
    outbox: Outbox | None = request.app.state.runtime.outbox
    assert outbox is not None, "this service has no outbox"
    return outbox


OutboxDep = Annotated[Outbox, Depends(get_outbox)]
