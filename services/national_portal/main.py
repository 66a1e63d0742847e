"""App factory of the national portal mock."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from services.national_portal.config import NationalPortalSettings
from services.national_portal.models import Base
from services.national_portal.portal import FailedTokens, Refused
from services.national_portal.router import (
    faults_router,
    invalid_body,
    protected,
    refused,
    router,
)
from services.national_portal.vneid import SigningKey
from services.national_portal.vneid import router as vneid_router
from shared.app import build_service_app
from shared.faults import FaultInjector, Faults, FaultState
from shared.runtime import ServiceSpec


def create_app(settings: NationalPortalSettings | None = None) -> FastAPI:
    settings = settings or NationalPortalSettings()
    app = build_service_app(
        settings,
        title="Cổng Dịch vụ công quốc gia (mô phỏng)",
        description="Mô phỏng Cổng DVCQG để thử đồng bộ hồ sơ, và đăng nhập VNeID.",
        routers=[router, protected, faults_router, vneid_router],
    )
    private_key = settings.vneid_private_key
    app.state.failed_tokens = FailedTokens()
    app.state.vneid_key = SigningKey(private_key.get_secret_value() if private_key else None)
    app.add_exception_handler(Refused, refused)
    app.add_exception_handler(RequestValidationError, invalid_body)
    # The settings name the faults as the admin route does (PORTAL_FAIL_SHARE, …).
    faults = Faults.model_validate(settings.model_dump(include=set(Faults.model_fields)))
    app.state.faults = FaultState(
        faults, seed=settings.fault_seed, timeout_seconds=settings.timeout_seconds
    )
    # Outermost, so a dropped answer is dropped after the request's commit.
    app.add_middleware(FaultInjector, state=app.state.faults)
    return app


spec = ServiceSpec(
    name="national_portal",
    settings_type=NationalPortalSettings,
    create_app=create_app,
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
)
