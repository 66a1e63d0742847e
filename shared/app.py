"""The parts every service app has: problem-details errors, request context, health."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import APIRouter, FastAPI

from shared import tracing
from shared.errors import install_error_handlers
from shared.events import EventBus, OutboxMixin
from shared.health import health_router
from shared.logging import RequestContextMiddleware
from shared.metrics import MetricsMiddleware, Probe, metrics_router
from shared.runtime import open_runtime
from shared.settings import ServiceSettings
from shared.storage import ObjectStorage

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_service_app(
    *,
    title: str,
    lifespan: Lifespan,
    description: str = "",
    service: str,
    probes: Sequence[Probe] = (),
) -> FastAPI:
    """An app with problem details, the request context, health and ``/metrics``
    (requests of ``service``, and its ``probes`` run at each scrape)."""
    app = FastAPI(title=title, description=description, version="0.1.0", lifespan=lifespan)
    install_error_handlers(app)
    app.add_middleware(MetricsMiddleware, service=service)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health_router())
    app.include_router(metrics_router(probes))
    tracing.instrument_app(app)
    return app


def build_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str = "",
    outbox_model: type[OutboxMixin] | None = None,
    bus: EventBus | None = None,
    storage: ObjectStorage | None = None,
    routers: Sequence[APIRouter] = (),
    after_start: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    probes: Sequence[Probe] = (),
) -> FastAPI:
    """A service app whose lifespan opens the service's ``Runtime`` (then ``after_start``,
    for what a service adds to it)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_runtime(
            settings, outbox_model=outbox_model, bus=bus, storage=storage
        ) as runtime:
            app.state.runtime = runtime
            if after_start is None:
                yield
                return
            async with after_start(app):
                yield

    app = create_service_app(
        title=title,
        description=description,
        lifespan=lifespan,
        service=settings.service_name,
        probes=probes,
    )
    for router in routers:
        app.include_router(router)
    return app
