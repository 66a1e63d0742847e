"""App factory of the tracking service."""

from pathlib import Path

from fastapi import FastAPI

from services.tracking.calendars import ENGINES
from services.tracking.config import TrackingSettings
from services.tracking.consumers import AGENCIES, CALENDARS, DOSSIERS, SCANNER
from services.tracking.metrics import PROBES
from services.tracking.models import Base, OutboxRecord
from services.tracking.router import router
from shared.app import build_service_app
from shared.events import EventBus
from shared.runtime import ServiceSpec


def create_app(settings: TrackingSettings | None = None, *, bus: EventBus | None = None) -> FastAPI:
    app = build_service_app(
        settings or TrackingSettings(),
        title="onestop tracking",
        description="Lịch làm việc, thời hạn giải quyết, thống kê.",
        outbox_model=OutboxRecord,
        bus=bus,
        routers=[router],
        probes=PROBES,
    )
    app.state.engines = ENGINES
    return app


spec = ServiceSpec(
    name="tracking",
    settings_type=TrackingSettings,
    create_app=create_app,
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
    outbox_model=OutboxRecord,
    consumers=(AGENCIES, DOSSIERS, CALENDARS),
    jobs=(SCANNER,),
    probes=PROBES,
)
