"""App factory of the notifications service."""

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from services.notifications.config import NotificationsSettings
from services.notifications.consumers import ALERTS, NOTICES
from services.notifications.delivery import DELIVERY_JOB, RECEIPTS_JOB, SMS_CLIENT
from services.notifications.digest import DIGEST_JOB
from services.notifications.metrics import PROBES
from services.notifications.models import Base
from services.notifications.router import router
from shared.app import build_service_app
from shared.events import EventBus
from shared.http import create_http_client
from shared.runtime import ServiceSpec


def create_app(
    settings: NotificationsSettings | None = None,
    *,
    bus: EventBus | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """``transports``: ``sms``, the provider reached in-process (the embedded platform's
    mock); otherwise ``NOTIFICATIONS_SMS_URL`` or, without one, the drop file."""
    settings = settings or NotificationsSettings()
    sms_transport = (transports or {}).get(SMS_CLIENT)

    def after_start(app: FastAPI) -> AbstractAsyncContextManager[None]:
        @asynccontextmanager
        async def clients() -> AsyncIterator[None]:
            if sms_transport is None:
                yield
                return
            async with create_http_client("http://sms", transport=sms_transport) as client:
                app.state.runtime.clients[SMS_CLIENT] = client
                yield

        return clients()

    return build_service_app(
        settings,
        title="onestop notifications",
        description="Thông báo cho người dân và cán bộ: thư điện tử, SMS, Zalo, hộp thư.",
        bus=bus,
        routers=[router],
        after_start=after_start,
        probes=PROBES,
    )


spec = ServiceSpec(
    name="notifications",
    settings_type=NotificationsSettings,
    create_app=create_app,
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
    consumers=(NOTICES, ALERTS),
    jobs=(DELIVERY_JOB, RECEIPTS_JOB, DIGEST_JOB),
    probes=PROBES,
)
