"""App factory of the national portal mock."""

from pathlib import Path

from fastapi import FastAPI

from services.national_portal.config import NationalPortalSettings
from services.national_portal.models import Base
from shared.app import build_service_app
from shared.runtime import ServiceSpec


def create_app(settings: NationalPortalSettings | None = None) -> FastAPI:
    return build_service_app(
        settings or NationalPortalSettings(),
        title="Cổng Dịch vụ công quốc gia (mô phỏng)",
        description="Mô phỏng Cổng DVCQG để thử đồng bộ hồ sơ.",
    )


spec = ServiceSpec(
    name="national_portal",
    settings_type=NationalPortalSettings,
    create_app=create_app,
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
)
