"""The mock payment provider and its callback: signed, checked, applied once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.intake import payments
from shared.auth import Position
from tests.intake.flow import act, at, set_clock, submit
from tests.platform import Platform, embedded

SECRET = "development-payment-secret-change-me"  # IntakeSettings' default outside production


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    async with embedded(tmp_path) as running:
        set_clock(running, at("2026-03-02 09:00"))
        yield running


async def awaiting_payment(platform: Platform) -> tuple[str, dict[str, Any]]:
    citizen = platform.citizen("citizen-1")
    officer = platform.officer("spec-1", Position.DESK, Position.SPECIALIST)
    code = (await submit(platform, citizen)).json()["code"]
    await act(platform, code, "receive", officer)
    await act(platform, code, "assign", officer)
    asked = await act(platform, code, "request-payment", officer)
    assert asked.status_code == 200, asked.text
    return code, asked.json()


def signed(**fields: Any) -> dict[str, Any]:
    notice = payments.PaymentNotice(**fields)
    return {**notice.model_dump(), "signature": payments.sign(notice, SECRET)}


async def test_the_citizen_pays_and_a_repeated_callback_changes_nothing(
    platform: Platform,
) -> None:
    citizen = platform.citizen("citizen-1")
    code, asked = await awaiting_payment(platform)
    pending = asked["pending_request"]
    assert pending["amount_vnd"] == 135000
    other = await platform.client.post(
        f"/api/v1/dossiers/{code}/payment/mock-pay", headers=platform.citizen("citizen-2")
    )
    assert other.status_code == 404

    paid = await platform.client.post(f"/api/v1/dossiers/{code}/payment/mock-pay",
                                      headers=citizen)  # fmt: skip
    assert paid.status_code == 200, paid.text
    dossier = paid.json()["dossier"]
    assert (dossier["status"], dossier["pending_request"]) == ("processing", None)
    assert dossier["due_at"] is not None  # the clock runs again

    again = await platform.client.post("/api/v1/payments/callback", json=paid.json()["notice"])
    assert again.status_code == 200
    assert again.json() == {"code": code, "status": "processing",
                            "sequence": dossier["sequence"]}  # fmt: skip


async def test_a_forged_or_wrong_notice_is_refused_and_changes_nothing(
    platform: Platform,
) -> None:
    citizen = platform.citizen("citizen-1")
    code, asked = await awaiting_payment(platform)
    payment_id = asked["pending_request"]["payment_id"]
    fields = {"payment_id": payment_id, "dossier_code": code, "amount_vnd": 135000,
              "status": "paid", "provider_reference": "X-1"}  # fmt: skip

    forged = {**signed(**fields), "amount_vnd": 1}  # changed after signing
    assert (await platform.client.post("/api/v1/payments/callback", json=forged)).status_code == 403
    wrong_key = {**fields, "signature": "0" * 64}
    response = await platform.client.post("/api/v1/payments/callback", json=wrong_key)
    assert response.status_code == 403
    for signature in ("ệ" * 64, "Z" * 64, "0" * 63):  # not a hex HMAC: refused, no crash
        odd = await platform.client.post(
            "/api/v1/payments/callback", json={**fields, "signature": signature}
        )
        assert odd.status_code == 422, odd.text
    huge = await platform.client.post(
        "/api/v1/payments/callback", json={**signed(**fields), "amount_vnd": 2**63}
    )
    assert huge.status_code == 422
    short = signed(**{**fields, "amount_vnd": 1000})
    assert (await platform.client.post("/api/v1/payments/callback", json=short)).status_code == 422
    other_payment = signed(**{**fields, "payment_id": "not-this-one"})
    response = await platform.client.post("/api/v1/payments/callback", json=other_payment)
    assert response.status_code == 409
    failed = signed(**{**fields, "status": "failed"})
    assert (await platform.client.post("/api/v1/payments/callback", json=failed)).status_code == 200

    dossier = (await platform.client.get(f"/api/v1/dossiers/{code}", headers=citizen)).json()
    assert (dossier["status"], dossier["sequence"]) == ("awaiting_payment", asked["sequence"])
    good = await platform.client.post("/api/v1/payments/callback", json=signed(**fields))
    assert good.json()["status"] == "processing"


async def test_a_citizen_cannot_declare_a_payment_the_provider_did_not_confirm(
    platform: Platform,
) -> None:
    citizen = platform.citizen("citizen-1")
    code, asked = await awaiting_payment(platform)
    claimed = await act(platform, code, "pay", citizen, payment_reference="I-PAID")
    assert claimed.status_code == 403, claimed.text
    assert claimed.headers["content-type"].startswith("application/problem+json")
    unchanged = await platform.client.get(f"/api/v1/dossiers/{code}", headers=citizen)
    assert unchanged.json()["status"] == "awaiting_payment"
    assert unchanged.json()["sequence"] == asked["sequence"]


async def test_the_desk_records_a_fee_paid_in_cash_at_the_counter(platform: Platform) -> None:
    code, asked = await awaiting_payment(platform)
    specialist = platform.officer("spec-2", Position.SPECIALIST)
    refused = await act(platform, code, "pay", specialist, payment_reference="BL-0001")
    assert refused.status_code == 403  # receipts are the desk's
    desk = platform.officer("desk-1", Position.DESK)
    missing = await act(platform, code, "pay", desk)
    assert missing.status_code == 422  # the receipt number is required
    paid = await act(platform, code, "pay", desk, payment_reference="BL-0001")
    assert paid.status_code == 200, paid.text
    assert (paid.json()["status"], paid.json()["sequence"]) == ("processing", asked["sequence"] + 1)
    assert paid.json()["pending_request"] is None
