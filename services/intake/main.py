"""App factory of the intake service."""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI

from services.intake.config import IntakeSettings
from services.intake.consumers import DOCUMENTS, DUE_CHANGES
from services.intake.models import Base, OutboxRecord
from services.intake.repository import idempotency, tallies
from services.intake.router import router
from services.intake.upstreams import Upstreams
from shared.app import build_service_app
from shared.events import EventBus
from shared.runtime import PeriodicSpec, Runtime, ServiceSpec


def create_app(
    settings: IntakeSettings | None = None,
    *,
    bus: EventBus | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """``transports`` reach the upstream services in-process (embedded mode)."""
    settings = settings or IntakeSettings()

    @asynccontextmanager
    async def upstreams(app: FastAPI) -> AsyncIterator[None]:
        app.state.upstreams = Upstreams(settings.upstream_urls(), transports=transports)
        try:
            yield
        finally:
            await app.state.upstreams.close()

    app = build_service_app(
        settings,
        title="onestop intake",
        description="Hồ sơ: tiếp nhận, xử lý, trả kết quả.",
        outbox_model=OutboxRecord,
        bus=bus,
        routers=[router],
        after_start=upstreams,
    )
    # When things happen: the wall clock, unless a test sets the hour (a dossier received
    # on the eve of Tết).
    app.state.clock = wall_clock
    return app


def wall_clock() -> datetime:
    return datetime.now(UTC)


async def purge_idempotency_keys(runtime: Runtime) -> int:
    settings = runtime.settings
    assert isinstance(settings, IntakeSettings)
    async with runtime.db.session() as session:
        return await idempotency.purge(
            session, older_than=timedelta(hours=settings.idempotency_hours)
        )


async def fold_tallies(runtime: Runtime) -> int:
    # Days before yesterday (UTC): no count reads them one by one, whatever the clock
    # skew between this process and the one counting.
    before = wall_clock().date() - timedelta(days=1)
    async with runtime.db.session() as session:
        return await tallies.fold_past_days(session, before=before)


TALLY_FOLD = PeriodicSpec(name="intake.tally_fold", interval_seconds=3600, job=fold_tallies)
IDEMPOTENCY_PURGE = PeriodicSpec(
    name="intake.idempotency_purge", interval_seconds=3600, job=purge_idempotency_keys
)

spec = ServiceSpec(
    name="intake",
    settings_type=IntakeSettings,
    create_app=create_app,
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
    outbox_model=OutboxRecord,
    consumers=(DUE_CHANGES, DOCUMENTS),
    jobs=(IDEMPOTENCY_PURGE, TALLY_FOLD),
)
