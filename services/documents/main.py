"""App factory of the documents service."""

import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from services.documents.config import DocumentsSettings
from services.documents.consumers import SUBMISSIONS
from services.documents.models import Base, OutboxRecord
from services.documents.router import router
from services.documents.scanning import ClamAV
from shared.app import build_service_app
from shared.events import EventBus
from shared.runtime import ServiceSpec
from shared.storage import LocalStorage, ObjectStorage, S3Storage, local_download_app

# Local signed URLs are served here, under the gateway's /api/v1 routes for documents.
LOCAL_DOWNLOAD_PATH = "/api/v1/storage"


def create_storage(settings: DocumentsSettings) -> ObjectStorage:
    if settings.storage_backend == "s3":
        return S3Storage(
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key.get_secret_value(),
            secret_key=settings.s3_secret_key.get_secret_value(),
            bucket=settings.s3_bucket,
            secure=settings.s3_secure,
            region=settings.s3_region,
        )
    assert settings.local_storage_dir is not None
    # A key of its own, derived from the platform secret: one secret to manage, and a
    # leaked download signature says nothing about tokens.
    signing_key = hmac.new(
        settings.platform.jwt_secret.get_secret_value().encode(),
        b"onestop local storage url signing",
        hashlib.sha256,
    ).digest()
    return LocalStorage(
        settings.local_storage_dir,
        signing_key=signing_key,
        public_url=settings.public_url.rstrip("/") + LOCAL_DOWNLOAD_PATH,
    )


def create_app(
    settings: DocumentsSettings | None = None,
    *,
    bus: EventBus | None = None,
    storage: ObjectStorage | None = None,
) -> FastAPI:
    settings = settings or DocumentsSettings()
    storage = storage or create_storage(settings)
    app = build_service_app(
        settings,
        title="onestop documents",
        description="Lưu trữ tài liệu, kiểm tra nội dung tệp, tải xuống có ký số thời hạn.",
        outbox_model=OutboxRecord,
        bus=bus,
        storage=storage,
        routers=[router],
        after_start=scanner_checks,
    )
    if isinstance(storage, LocalStorage):
        app.mount(LOCAL_DOWNLOAD_PATH, local_download_app(storage))
    app.state.scanner = ClamAV(settings.clamav_address) if settings.clamav_address else None
    return app


@asynccontextmanager
async def scanner_checks(app: FastAPI) -> AsyncIterator[None]:
    """Report the malware scan in /readyz: checked when configured, "off" otherwise."""
    runtime = app.state.runtime
    scanner: ClamAV | None = app.state.scanner
    if scanner is None:
        runtime.info["malware_scan"] = "off"
    else:
        runtime.extra_checks["malware_scan"] = scanner.ping
    yield


spec = ServiceSpec(
    name="documents",
    settings_type=DocumentsSettings,
    create_app=create_app,
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
    outbox_model=OutboxRecord,
    consumers=(SUBMISSIONS,),
)
