"""A real SMTP server (aiosmtpd) that keeps what it accepted, the SMS provider mock on a
socket, and the distributed platform wired to both."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from pydantic import SecretStr

from services.sms_mock.main import SmsMockSettings
from services.sms_mock.main import create_app as create_sms_mock
from shared.serving import config
from tests.conftest import PgDatabase
from tests.infra import S3Server, free_port
from tests.platform import Platform, distributed
from tests.smtp import SmtpServer, SmtpSink

SMS_KEY = "test-sms-key-0123456789"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(SmtpSink())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class SmsProvider:
    """The mock on a socket of its own; stopped (nothing listens) and started again on
    the same port, its memory kept."""

    app: Any
    port: int = field(default_factory=free_port)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = uvicorn.Server(
            config(self.app, host="127.0.0.1", port=self.port, lifespan="off")
        )
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            assert not self._task.done(), "the SMS mock did not start"
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = self._task = None

    def messages(self, to: str | None = None, channel: str | None = None) -> list[dict[str, Any]]:
        held = self.app.state.store.messages.values()
        return [
            m.model_dump()
            for m in held
            if (to is None or m.to == to) and (channel is None or m.channel == channel)
        ]

    def fail(self, share: float) -> None:
        self.app.state.faults.faults = self.app.state.faults.faults.model_copy(
            update={"fail_share": share}
        )


@pytest.fixture
async def sms() -> AsyncIterator[SmsProvider]:
    provider = SmsProvider(create_sms_mock(SmsMockSettings(api_key=SecretStr(SMS_KEY))))
    await provider.start()
    try:
        yield provider
    finally:
        await provider.stop()


def notification_settings(smtp: SmtpServer, sms: SmsProvider, **overrides: Any) -> dict[str, Any]:
    """Quick retries, no quiet night (a test may run at any hour), both real servers."""
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "smtp_timeout_seconds": 2.0,
        "sms_url": sms.url,
        "sms_api_key": SMS_KEY,
        "sms_timeout_seconds": 2.0,
        "delivery_poll_seconds": 0.05,
        "delivery_concurrency": 4,
        "retry_base_seconds": 0.05,
        "retry_cap_seconds": 0.4,
        "retry_budget": 1000,
        "quiet_from_hour": 0,
        "quiet_until_hour": 0,
        **overrides,
    }


@contextlib.asynccontextmanager
async def platform_with(
    pg_database: PgDatabase, s3: S3Server, tmp_path: Path, settings: dict[str, Any]
) -> AsyncIterator[Platform]:
    async with distributed(pg_database, s3, notifications=settings, data_dir=tmp_path) as running:
        yield running


async def until(check: Any, seconds: float = 20.0) -> Any:
    """``await check()`` until it is truthy (or fail after ``seconds``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        found = await check()
        if found:
            return found
        assert loop.time() < deadline, "not reached in time"
        await asyncio.sleep(0.05)


async def inbox(platform: Platform, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer = await platform.client.get("/api/v1/notifications", params={"limit": 100},
                                       headers=headers)  # fmt: skip
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def verified(
    platform: Platform,
    headers: dict[str, str],
    kind: str,
    address: str,
    read_code: Any,
) -> None:
    """Set an address and enter the code it received."""
    answer = await platform.client.put(f"/api/v1/notifications/settings/contacts/{kind}",
                                       json={"address": address}, headers=headers)  # fmt: skip
    assert answer.status_code == 200, answer.text
    code = await until(read_code)
    answer = await platform.client.post(f"/api/v1/notifications/settings/contacts/{kind}/verify",
                                        json={"code": code}, headers=headers)  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert any(c["kind"] == kind and c["verified"] for c in answer.json()["contacts"])
