"""A mock of an SMS and Zalo provider (brand-name SMS, Zalo notification messages), so
that the notifications service is proven against one over HTTP, faults included.

- ``POST /api/messages`` takes a message with the sender's ``client_ref``: a repeat of
  a reference answers the first message's id and sends nothing again (what real
  providers call a request id).
- ``GET /api/receipts?after=N`` gives the delivery receipts after cursor N; a message
  to a number starting with ``UNDELIVERABLE_PREFIX`` gets a failed receipt.
- ``GET /api/admin/messages`` lists what it accepted; ``PUT /api/admin/faults`` makes
  it fail, time out, lose answers or answer slowly (``shared.faults``).

Everything is in memory: a restarted mock has forgotten its messages, as a test wants.
Every call needs the key (``x-api-key``).
"""

from __future__ import annotations

import hmac
import itertools
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.faults import FaultInjector, Faults, FaultState
from shared.settings import Settings

UNDELIVERABLE_PREFIX = "0999"


class SmsMockSettings(Settings):
    model_config = SettingsConfigDict(env_prefix="SMS_MOCK_", extra="ignore")

    api_key: SecretStr = SecretStr("onestop-sms-demo-key-change-me")
    fail_share: float = Field(default=0.0, ge=0.0, le=1.0)
    timeout_share: float = Field(default=0.0, ge=0.0, le=1.0)
    drop_share: float = Field(default=0.0, ge=0.0, le=1.0)
    delay_ms: int = Field(default=0, ge=0, le=60_000)
    timeout_seconds: float = Field(default=30.0, gt=0)
    fault_seed: int | None = None


class MessageIn(BaseModel):
    client_ref: str = Field(min_length=1, max_length=100)
    channel: Literal["sms", "zalo"]
    to: str = Field(pattern=r"^(0|\+84)[0-9]{9,10}$")
    text: str = Field(min_length=1, max_length=2000)
    sender: str = Field(min_length=1, max_length=11)


class Accepted(BaseModel):
    id: str
    status: Literal["accepted"] = "accepted"


class Held(BaseModel):
    id: str
    client_ref: str
    channel: str
    to: str
    text: str
    sender: str
    at: datetime


class ReceiptOut(BaseModel):
    seq: int
    id: str
    client_ref: str  # the sender's reference, as the message was sent with it
    status: Literal["delivered", "failed"]
    at: datetime
    error: str | None = None


class Receipts(BaseModel):
    receipts: list[ReceiptOut]
    next: int


class Store:
    def __init__(self) -> None:
        self.messages: dict[str, Held] = {}  # by client_ref
        self.receipts: list[ReceiptOut] = []
        self._ids = itertools.count(1)

    def accept(self, body: MessageIn) -> Held:
        held = self.messages.get(body.client_ref)
        if held is not None:
            return held
        now = datetime.now(UTC)
        held = Held(id=f"m{next(self._ids)}", at=now, **body.model_dump())
        self.messages[body.client_ref] = held
        failed = body.to.startswith(UNDELIVERABLE_PREFIX)
        self.receipts.append(
            ReceiptOut(seq=len(self.receipts) + 1, id=held.id, client_ref=held.client_ref,
                       status="failed" if failed else "delivered", at=now,
                       error="Thuê bao không liên lạc được" if failed else None)
        )  # fmt: skip
        return held


def create_app(settings: SmsMockSettings | None = None) -> FastAPI:
    settings = settings or SmsMockSettings()
    app = FastAPI(title="Nhà cung cấp SMS/Zalo (mô phỏng)", docs_url=None, redoc_url=None)
    store = Store()
    app.state.store = store
    faults = Faults.model_validate(settings.model_dump(include=set(Faults.model_fields)))
    app.state.faults = FaultState(faults, seed=settings.fault_seed,
                                  timeout_seconds=settings.timeout_seconds)  # fmt: skip
    key = settings.api_key.get_secret_value()

    async def keyed(x_api_key: Annotated[str | None, Header()] = None) -> None:
        if x_api_key is None or not hmac.compare_digest(x_api_key, key):
            raise _Refused()

    guarded = [Depends(keyed)]

    @app.post("/api/messages", response_model=Accepted, dependencies=guarded)
    async def send(body: MessageIn) -> Accepted:
        return Accepted(id=store.accept(body).id)

    @app.get("/api/receipts", response_model=Receipts, dependencies=guarded)
    async def receipts(after: Annotated[int, Query(ge=0)] = 0) -> Receipts:
        found = store.receipts[after : after + 500]
        return Receipts(receipts=found, next=found[-1].seq if found else after)

    @app.get("/api/admin/messages", response_model=list[Held], dependencies=guarded)
    async def messages() -> list[Held]:
        return list(store.messages.values())

    @app.get("/api/admin/faults", response_model=Faults, dependencies=guarded)
    async def get_faults(request: Request) -> Faults:
        state: FaultState = request.app.state.faults
        return state.faults

    @app.put("/api/admin/faults", response_model=Faults, dependencies=guarded)
    async def put_faults(body: Faults, request: Request) -> Faults:
        request.app.state.faults.faults = body
        return body

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_exception_handler(_Refused, _refused)
    app.add_middleware(FaultInjector, state=app.state.faults)
    return app


class _Refused(Exception):
    pass


async def _refused(_request: Request, _exc: Exception) -> JSONResponse:
    return JSONResponse({"error": "invalid api key"}, status_code=401)
