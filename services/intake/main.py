"""App factory of the intake service."""

from pathlib import Path

from fastapi import FastAPI

from services.intake.config import IntakeSettings
from services.intake.models import Base, OutboxRecord
from shared.app import build_service_app
from shared.events import EventBus
from shared.runtime import ServiceSpec


def create_app(settings: IntakeSettings | None = None, *, bus: EventBus | None = None) -> FastAPI:
    return build_service_app(
        settings or IntakeSettings(),
        title="onestop intake",
        description="Hồ sơ: tiếp nhận, xử lý, trả kết quả.",
        outbox_model=OutboxRecord,
        bus=bus,
    )


spec = ServiceSpec(
    name="intake",
    settings_type=IntakeSettings,
    create_app=create_app,
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
    outbox_model=OutboxRecord,
)
