"""Faults a mock of an outside system injects on purpose (the national portal, the SMS
provider), so that what calls it can be proven against them.

Each call under the mock's API prefix (not its admin routes, not health) may: fail
with 500 before anything is done; hang, then fail with 504 (a client with a shorter
time-out gives up first); or be carried out and committed, and then lose its answer
(the client sees the call fail, though the mock stored it). Every call may also be
delayed.
"""

from __future__ import annotations

import asyncio
import json
import random

from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Faults(BaseModel):
    """What the mock does wrong, on purpose (each a share of the calls)."""

    fail_share: float = Field(default=0.0, ge=0.0, le=1.0)  # 500 before doing anything
    timeout_share: float = Field(default=0.0, ge=0.0, le=1.0)  # holds the call, then 504
    drop_share: float = Field(default=0.0, ge=0.0, le=1.0)  # stores, then loses the answer
    delay_ms: int = Field(default=0, ge=0, le=60_000)  # every call answers this much later


class ResponseDropped(ConnectionAbortedError):
    """The call was carried out; its answer is lost on the way back."""


class FaultState:
    """The faults in force, shared by the middleware and the admin route."""

    def __init__(self, faults: Faults, *, seed: int | None, timeout_seconds: float) -> None:
        self.faults = faults
        self.random = random.Random(seed)
        self.timeout_seconds = timeout_seconds


class FaultInjector:
    """ASGI middleware injecting the faults of ``state``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        state: FaultState,
        faulty_prefix: str = "/api/",
        not_faulty: str = "/api/admin/",
    ) -> None:
        self.app = app
        self.state = state
        self.faulty_prefix = faulty_prefix
        self.not_faulty = not_faulty

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or not path.startswith(self.faulty_prefix)
            or path.startswith(self.not_faulty)
        ):
            await self.app(scope, receive, send)
            return
        faults = self.state.faults
        if faults.delay_ms:
            await asyncio.sleep(faults.delay_ms / 1000)
        draw = self.state.random.random()
        if draw < faults.fail_share:
            await _answer(send, 500, "Lỗi hệ thống (giả lập).")
            return
        draw -= faults.fail_share
        if draw < faults.timeout_share:
            await asyncio.sleep(self.state.timeout_seconds)
            await _answer(send, 504, "Hết thời gian chờ (giả lập).")
            return
        draw -= faults.timeout_share
        if draw < faults.drop_share:

            async def swallow(_message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)  # committed before it answers
            raise ResponseDropped("the answer is dropped on purpose")
        await self.app(scope, receive, send)


async def _answer(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error_code": "99", "message": message}, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})
