"""The tracking service on PostgreSQL and on SQLite, with the national calendar seeded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio.to_thread
import httpx
import pytest

from services.tracking import seed as tracking_seed
from services.tracking.config import TrackingSettings
from services.tracking.consumers import apply_agency
from services.tracking.main import create_app, spec
from services.tracking.models import OutboxRecord
from shared.auth import TokenService
from shared.contracts.agencies import AGENCY_UPSERTED, AgencyUpserted
from shared.contracts.events import EventEnvelope
from shared.db import Database
from shared.events import InProcessBus, Outbox
from shared.migrations import upgrade
from shared.runtime import Runtime
from tests.conftest import PgDatabase, distributed_platform, embedded_platform, service_client

# Two agencies of the seeded province, as procedures announces them.
CENTRE = "000.00.15.H49"  # the provincial one-stop centre
COMMUNE = "000.01.01.H49"


def runtime_of(database: Database, settings: TrackingSettings | None = None) -> Runtime:
    """Tracking's runtime around ``database``, to call its event handlers directly."""
    settings = settings or TrackingSettings()
    return Runtime(
        name="tracking",
        settings=settings,
        db=database,
        bus=InProcessBus(),
        tokens=TokenService.from_settings(settings.platform),
        outbox=Outbox(OutboxRecord, source="tracking"),
    )


def agency_event(code: str, name: str, calendar_code: str = "national") -> EventEnvelope:
    payload = AgencyUpserted(
        code=code, name=name, level="province", parent_code=None, calendar_code=calendar_code
    )
    return EventEnvelope(
        type=AGENCY_UPSERTED, source="procedures", subject=code, payload=payload.model_dump()
    )


@pytest.fixture(params=["postgresql", "sqlite"])
async def tracking_settings(
    request: pytest.FixtureRequest, tmp_path: Path, pg_database: PgDatabase
) -> TrackingSettings:
    if request.param == "postgresql":
        settings = TrackingSettings(
            platform=distributed_platform(), database_url=await pg_database("tracking")
        )
    else:
        settings = TrackingSettings(platform=embedded_platform(tmp_path))
        await anyio.to_thread.run_sync(upgrade, spec.migrations, settings.db_url)
    database = Database(settings.db_url)
    runtime = runtime_of(database, settings)
    async with database.session() as session:
        await tracking_seed.seed(session)
        for code, name in (
            (CENTRE, "Trung tâm Phục vụ hành chính công"),
            (COMMUNE, "UBND phường Hồng Gai"),
        ):
            await apply_agency(runtime, session, agency_event(code, name))
    await database.dispose()
    return settings


@pytest.fixture
async def api(tracking_settings: TrackingSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(tracking_settings)
    async with service_client(app, tracking_settings.platform, name="tracking") as client:
        yield client
