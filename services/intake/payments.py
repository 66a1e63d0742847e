"""Payments: a mock provider and its signed, idempotent callback.

``request-payment`` gives the dossier a payment id and an amount. The citizen pays at the
provider (here the mock, ``POST /api/v1/dossiers/{code}/payment/mock-pay``), which then calls
``POST /api/v1/payments/callback`` with the payment id, the amount and its reference,
signed with HMAC-SHA256 under the secret intake shares with it. The callback checks the
signature (403), that the amount is the one asked (422), and applies the ``pay`` action
for the citizen once: a callback repeated (providers retry) answers as the first did
and changes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import uuid
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import actions, repository
from services.intake.config import IntakeSettings
from services.intake.machine import Action, Status
from services.intake.models import Dossier
from services.intake.schemas import ActionIn
from services.intake.state import PaymentRequest
from services.intake.upstreams import Upstreams
from shared.auth import Principal, Role
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.events import Outbox

PROVIDER = "mock-provider"


class PaymentNotice(BaseModel):
    """What the provider says happened."""

    payment_id: str = Field(min_length=1, max_length=64)
    dossier_code: str = Field(min_length=1, max_length=60)
    amount_vnd: int = Field(gt=0, le=10_000_000_000)
    status: str = Field(pattern="^(paid|failed)$")
    provider_reference: str = Field(min_length=1, max_length=100)


class SignedNotice(PaymentNotice):
    signature: str = Field(pattern=r"^[0-9a-f]{64}$")  # HMAC-SHA256, hex


def sign(notice: PaymentNotice, secret: str) -> str:
    canonical = json.dumps(notice.model_dump(), sort_keys=True, separators=(",", ":"))
    return hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def verify(notice: SignedNotice, secret: str) -> PaymentNotice:
    plain = PaymentNotice.model_validate(notice.model_dump(exclude={"signature"}))
    # As bytes: compare_digest refuses a str that is not ASCII with a TypeError.
    if not hmac.compare_digest(sign(plain, secret).encode(), notice.signature.encode()):
        raise Forbidden("Chữ ký thông báo thanh toán không hợp lệ.")
    return plain


async def _already_paid(session: AsyncSession, code: str, payment_id: str) -> bool:
    entries = await repository.audited_actions(session, code, Action.PAY.value)
    return any(entry.details.get("payment_reference") == payment_id for entry in entries)


async def apply_notice(
    session: AsyncSession,
    outbox: Outbox,
    notice: PaymentNotice,
    *,
    upstreams: Upstreams,
    settings: IntakeSettings,
    now: datetime,
) -> Dossier:
    """The ``pay`` action for a paid notice, once; the dossier as it stands otherwise."""
    body = ActionIn(payment_reference=notice.payment_id, note=notice.provider_reference)
    seen = await repository.get_by_code(session, notice.dossier_code)
    if seen is None:
        raise NotFound(f"Không có hồ sơ {notice.dossier_code}.")
    ahead = None
    if notice.status == "paid" and seen.applicant is not None:
        # What paying needs (the calendar) is asked before the row is locked.
        payer = Principal(subject=seen.applicant, username=PROVIDER, role=Role.CITIZEN)
        with contextlib.suppress(Conflict):  # not awaiting payment: answered below
            ahead = await actions.look_ahead(
                session, seen.code, Action.PAY, body, actor=payer, authorization="",
                upstreams=upstreams,
            )  # fmt: skip
    dossier = await repository.get_for_update(session, notice.dossier_code)
    if dossier is None:
        raise NotFound(f"Không có hồ sơ {notice.dossier_code}.")
    if await _already_paid(session, dossier.code, notice.payment_id):
        return dossier  # a retried callback: answered as the first one was
    pending = dossier.pending_request
    if (
        dossier.status != Status.AWAITING_PAYMENT.value
        or not isinstance(pending, PaymentRequest)
        or pending.payment_id != notice.payment_id
    ):
        raise Conflict("Hồ sơ không chờ khoản thanh toán này.")
    if notice.amount_vnd != pending.amount_vnd:
        raise Unprocessable(
            "Số tiền không khớp với khoản phải nộp.",
            errors=[{"location": "body", "pointer": "#/amount_vnd", "message": "Sai số tiền."}],
        )
    if notice.status != "paid" or dossier.applicant is None:
        return dossier  # a failed payment leaves the request open; walk-ins pay at the desk
    citizen = Principal(subject=dossier.applicant, username=PROVIDER, role=Role.CITIZEN)
    call = actions.Call(dossier.code, Action.PAY, body, citizen, authorization="")
    return await actions.perform(
        session, outbox, call, upstreams=upstreams, settings=settings, now=now, ahead=ahead
    )


async def mock_pay(
    session: AsyncSession,
    outbox: Outbox,
    dossier: Dossier,
    *,
    payer: Principal,
    upstreams: Upstreams,
    settings: IntakeSettings,
    now: datetime,
) -> tuple[SignedNotice, Dossier]:
    """The mock provider: the applicant pays what the dossier asks; the provider's signed
    notice is delivered to the callback's code in-process and returned for the record."""
    pending = dossier.pending_request
    if payer.subject != dossier.applicant:
        raise Forbidden("Chỉ người nộp hồ sơ thanh toán được.")
    if dossier.status != Status.AWAITING_PAYMENT.value or not isinstance(pending, PaymentRequest):
        raise Conflict("Hồ sơ không có khoản phải nộp.")
    notice = PaymentNotice(
        payment_id=pending.payment_id,
        dossier_code=dossier.code,
        amount_vnd=pending.amount_vnd,
        status="paid",
        provider_reference=f"MOCK-{uuid.uuid4().hex[:12].upper()}",
    )
    signature = sign(notice, settings.payment_secret.get_secret_value())
    paid = await apply_notice(
        session, outbox, notice, upstreams=upstreams, settings=settings, now=now
    )
    return SignedNotice(**notice.model_dump(), signature=signature), paid
