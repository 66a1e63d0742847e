"""App factory of the procedures service."""

from pathlib import Path

from fastapi import FastAPI

from services.procedures.config import ProceduresSettings
from services.procedures.models import Base, OutboxRecord
from services.procedures.router import router
from shared.app import build_service_app
from shared.events import EventBus
from shared.runtime import ServiceSpec


def create_app(
    settings: ProceduresSettings | None = None, *, bus: EventBus | None = None
) -> FastAPI:
    return build_service_app(
        settings or ProceduresSettings(),
        title="onestop procedures",
        description="Danh mục thủ tục hành chính và cơ quan giải quyết.",
        outbox_model=OutboxRecord,
        bus=bus,
        routers=[router],
    )


spec = ServiceSpec(
    name="procedures",
    settings_type=ProceduresSettings,
    create_app=create_app,
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
    outbox_model=OutboxRecord,
)
