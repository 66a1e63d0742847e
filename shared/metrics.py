"""Prometheus metrics (``/metrics`` on every service and worker), with prometheus-client.

Requests are counted and timed as they pass (by the route's template, never the raw
path: a dossier code in a label would make a series per dossier). What lives in the
databases and Redis (the outbox backlog, the portal sync's, open dossiers) is read when
Prometheus scrapes, by *probes*: each a coroutine that sets gauges, run with a time-out
so that a slow database makes a gap in a series, not a hung scrape.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram
from prometheus_client import generate_latest as render
from redis.exceptions import ResponseError
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.contracts.events import stream_name

if TYPE_CHECKING:
    from shared.runtime import Runtime

logger = logging.getLogger("onestop.metrics")

REQUESTS = Counter(
    "onestop_http_requests", "HTTP requests answered", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "onestop_http_request_duration_seconds",
    "Time to the end of the response",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
POOL = Gauge("onestop_db_pool_connections", "The database pool's connections", ["service", "state"])
OUTBOX_BACKLOG = Gauge(
    "onestop_outbox_backlog", "Events written and not yet published", ["service"]
)
OUTBOX_LAG = Gauge(
    "onestop_outbox_lag_seconds", "Age of the oldest unpublished event (0: none)", ["service"]
)
CONSUMER_LAG = Gauge(
    "onestop_consumer_lag", "Events of a topic its group has not read yet", ["group", "topic"]
)
CONSUMER_PENDING = Gauge(
    "onestop_consumer_pending", "Events a group read and has not acknowledged", ["group", "topic"]
)
DEAD_LETTERS = Gauge("onestop_dead_letters", "Events set aside after failing every try", ["topic"])
PROBE_FAILURES = Counter(
    "onestop_metrics_probe_failures", "Scrapes in which a probe failed or timed out", ["probe"]
)

# Where a request's route label comes from when no FastAPI route matched it: the
# gateway's forwarding sets it ("forward:intake"), else it is "unmatched".
ROUTE_LABEL = "onestop.metrics_route"
PROBE_TIMEOUT_SECONDS = 5.0

Probe = Callable[["Runtime"], Awaitable[None]]


class MetricsMiddleware:
    """Counts and times every HTTP request of ``service`` (pure ASGI: no body copies)."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/metrics":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", None) or scope.get(ROUTE_LABEL, "unmatched")
            method = scope["method"]
            REQUESTS.labels(self.service, method, label, str(status)).inc()
            LATENCY.labels(self.service, method, label).observe(time.perf_counter() - started)


async def runtime_probe(runtime: Runtime) -> None:
    """What every service has: its pool, and its outbox if it writes events."""
    pool: Any = runtime.db.engine.pool
    if hasattr(pool, "checkedout"):  # a queue pool (PostgreSQL); SQLite's has no counts
        POOL.labels(runtime.name, "checked_out").set(pool.checkedout())
        POOL.labels(runtime.name, "idle").set(pool.checkedin())
        POOL.labels(runtime.name, "overflow").set(max(pool.overflow(), 0))
    if runtime.outbox is None:
        return
    model = runtime.outbox.model
    async with runtime.db.read_session() as session:
        count, oldest = (
            await session.execute(
                select(func.count(), func.min(model.created_at)).where(model.published_at.is_(None))
            )
        ).one()
    OUTBOX_BACKLOG.labels(runtime.name).set(count)
    OUTBOX_LAG.labels(runtime.name).set(age_seconds(oldest))


def age_seconds(since: datetime | str | None, *, now: datetime | None = None) -> float:
    """Seconds since ``since`` (0 for none); SQLite's aggregates come back as text."""
    if since is None:
        return 0.0
    if isinstance(since, str):
        since = datetime.fromisoformat(since)
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return max(((now or datetime.now(UTC)) - since).total_seconds(), 0.0)


def streams_probe(groups: Mapping[str, Iterable[str]]) -> Probe:
    """The consumer groups' lag and pending events on Redis Streams, and each topic's
    dead letters (``groups``: each group's topics)."""
    wanted = {group: set(topics) for group, topics in groups.items()}

    async def streams(runtime: Runtime) -> None:
        if runtime.redis is None:
            return
        for topic in sorted(set().union(*wanted.values())):
            try:
                infos = await runtime.redis.xinfo_groups(stream_name(topic))
            except ResponseError:  # no event on it yet: no stream
                infos = []
            for info in infos:
                group = info["name"]
                if topic in wanted.get(group, ()):
                    CONSUMER_LAG.labels(group, topic).set(info.get("lag") or 0)
                    CONSUMER_PENDING.labels(group, topic).set(info["pending"])
            DEAD_LETTERS.labels(topic).set(await runtime.redis.xlen(f"{stream_name(topic)}.dead"))

    return streams


async def run_probes(runtime: Runtime, probes: Iterable[Probe]) -> None:
    async def one(probe: Probe) -> None:
        name = getattr(probe, "__name__", repr(probe))
        try:
            await asyncio.wait_for(probe(runtime), PROBE_TIMEOUT_SECONDS)
        except Exception:
            PROBE_FAILURES.labels(name).inc()
            logger.warning("metrics probe failed", extra={"probe": name}, exc_info=True)

    await asyncio.gather(*(one(probe) for probe in probes))


def exposition() -> Response:
    return Response(render(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def metrics_router(probes: Iterable[Probe] = ()) -> APIRouter:
    """``GET /metrics``: the process's metrics, after the service's probes have run."""
    router = APIRouter(include_in_schema=False)
    chosen = (runtime_probe, *probes)

    @router.get("/metrics")
    async def metrics(request: Request) -> Response:
        await run_probes(request.app.state.runtime, chosen)
        return exposition()

    return router
