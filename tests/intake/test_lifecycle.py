"""A dossier's whole life through the gateway, on PostgreSQL, Redis and the S3 server:
submit → receive → supplement → pay → forward → resolve → return, across Tết Bính Ngọ,
with the due date intake shows checked by hand and against tracking's clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from services.tracking.models import DossierClock
from shared.auth import Position
from shared.db import Database
from tests.conftest import PgDatabase
from tests.infra import S3Server
from tests.intake.flow import act, at, audited_actions, set_clock, submit, upload
from tests.platform import CENTRE, Platform, distributed, eventually


@pytest.fixture
async def platform(pg_database: PgDatabase, s3_server: S3Server) -> AsyncIterator[Platform]:
    async with distributed(pg_database, s3_server) as running:
        yield running


async def wallet(platform: Platform, citizen: dict[str, str]) -> list[str]:
    """The ids of the citizen's results in their wallet."""
    answer = await platform.client.get("/api/v1/documents", headers=citizen)
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json() if item["kind"] == "result"]


async def tracking_clock(platform: Platform, code: str, sequence: int) -> DossierClock:
    """Tracking's clock of the dossier once it has seen transition ``sequence``."""
    database = Database(platform.urls["tracking"])
    try:
        for _ in range(200):
            async with database.session() as session:
                clock = await session.get(DossierClock, code)
                if clock is not None and clock.last_sequence >= sequence:
                    return clock
            await asyncio.sleep(0.05)  # another service's consumer: no event to wait on
        raise AssertionError(f"tracking never saw {code} at sequence {sequence}")
    finally:
        await database.dispose()


def local(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_a_dossier_lives_from_submission_to_return_across_tet(platform: Platform) -> None:
    citizen = platform.citizen("citizen-1")
    desk = platform.officer("desk-1", Position.DESK)
    leader = platform.officer("leader-1", Position.LEADER)
    specialist_id = await platform.officer_id()
    specialist = platform.officer(specialist_id, Position.SPECIALIST)

    # Friday 13/02/2026 15:50, the last afternoon before Tết.
    set_clock(platform, at("2026-02-13 15:50"))
    submitted = await submit(platform, citizen)
    assert submitted.status_code == 201, submitted.text
    dossier = submitted.json()
    code = dossier["code"]
    assert code == f"{CENTRE}-260213-0001"
    assert (dossier["status"], dossier["sequence"]) == ("submitted", 1)
    assert dossier["channel"] == "online"
    assert dossier["fee_total_vnd"] == 135000
    assert dossier["due_at"] is None  # the clock starts at receipt

    set_clock(platform, at("2026-02-13 16:00"))
    received = await act(platform, code, "receive", desk)
    assert received.status_code == 200, received.text
    # 1 hour on Friday, Tết to Sunday 22/02, then 4 days and 7 hours: Friday 27/02 16:00.
    assert local(received.json()["due_at"]) == at("2026-02-27 16:00")
    deadline = await platform.client.get(
        f"/api/v1/calendars/{CENTRE}/deadline",
        params={"start": at("2026-02-13 16:00").isoformat(), "working_days": 5},
    )
    assert local(received.json()["due_at"]) == local(deadline.json()["due_at"])
    clock = await tracking_clock(platform, code, 2)
    assert clock.due_at == local(received.json()["due_at"])

    set_clock(platform, at("2026-02-23 08:00"))
    assert (await act(platform, code, "assign", leader, assignee=specialist_id)).status_code == 200
    # The specialist holds it now: another officer cannot act on its processing.
    held = await act(platform, code, "request-supplement", desk, missing=["x"])
    assert held.status_code == 409

    set_clock(platform, at("2026-02-23 09:00"))
    asked = await act(
        platform, code, "request-supplement", specialist,
        missing=["Giấy khám sức khỏe còn hiệu lực"],
    )  # fmt: skip
    assert asked.status_code == 200, asked.text
    assert asked.json()["status"] == "supplement_requested"
    assert asked.json()["timeliness"] == "paused"
    assert asked.json()["remaining_minutes"] == 37.5 * 60

    set_clock(platform, at("2026-02-25 09:00"))
    new_document = await upload(platform, citizen, "giấy khám sức khỏe.pdf")
    answered = await act(
        platform, code, "supplement", citizen, documents=[{"requirement": 1, "id": new_document}]
    )
    assert answered.status_code == 200, answered.text
    # The clock resumes with the 37.5 hours left: Tuesday 03/03 16:00.
    assert local(answered.json()["due_at"]) == at("2026-03-03 16:00")

    set_clock(platform, at("2026-02-26 10:00"))
    billed = await act(platform, code, "request-payment", specialist)
    assert billed.status_code == 200, billed.text
    assert billed.json()["pending_request"]["amount_vnd"] == 135000
    set_clock(platform, at("2026-02-26 14:00"))
    paying = await platform.client.post(f"/api/v1/dossiers/{code}/payment/mock-pay",
                                        headers=citizen)  # fmt: skip
    assert paying.status_code == 200, paying.text
    paid = await platform.client.get(f"/api/v1/dossiers/{code}", headers=citizen)
    # 9 hours ran Wednesday and Thursday morning; 28.5 left from 14:00: Wed 04/03 09:00.
    assert local(paid.json()["due_at"]) == at("2026-03-04 09:00")
    clock = await tracking_clock(platform, code, paid.json()["sequence"])
    assert clock.due_at == local(paid.json()["due_at"])  # both sides, to the minute

    forwarded = await act(
        platform, code, "forward", specialist, to_agency_code="000.00.07.H49", budget_hours=8
    )
    assert forwarded.status_code == 200, forwarded.text
    assert local(forwarded.json()["due_at"]) == at("2026-03-04 09:00")  # it does not move
    # The step's own due date: 8 working hours of the Department of Justice from
    # Thursday 14:00, Friday 14:00.
    [step] = forwarded.json()["steps"]
    assert local(step["due_at"]) == at("2026-02-27 14:00")
    assert step["completed_at"] is None
    # The dossier waits for the step: the specialist cannot resolve it yet.
    waiting = await act(platform, code, "resolve", specialist, result_documents=[new_document])
    assert waiting.status_code == 409, waiting.text

    justice = platform.officer("justice-1", Position.SPECIALIST, agency="000.00.07.H49")
    listed = await platform.client.get("/api/v1/queues/000.00.07.H49/steps", headers=justice)
    assert listed.status_code == 200, listed.text
    # Due soon from the start: a step of one working day is within the warning's day.
    assert [(i["code"], i["timeliness"]) for i in listed.json()["items"]] == [(code, "due_soon")]
    assert local(listed.json()["items"][0]["appointment_at"]) == at("2026-03-04 09:00")
    # Only the step is theirs: nothing of the dossier's own processing.
    refused = await act(platform, code, "request-payment", justice)
    assert refused.status_code == 403, refused.text
    set_clock(platform, at("2026-03-02 09:00"))  # Monday: past Friday 14:00
    replied = await act(platform, code, "complete-step", justice, note="Đã xác minh lý lịch.")
    assert replied.status_code == 200, replied.text
    [step] = replied.json()["steps"]
    assert (step["reply"], step["late"], step["completed_by"]) == (
        "Đã xác minh lý lịch.", True, "justice-1",
    )  # fmt: skip
    listed = await platform.client.get(
        "/api/v1/queues/000.00.07.H49/steps", params={"from": "2026-02-01"}, headers=justice
    )
    assert (listed.json()["items"], listed.json()["answered"]) == ([], 1)
    assert listed.json()["answered_late"] == 1
    assert local(replied.json()["due_at"]) == at("2026-03-04 09:00")  # still not moved

    set_clock(platform, at("2026-03-02 10:00"))
    result = await platform.client.post(
        "/api/v1/documents/results",
        data={"owner": "citizen-1", "dossier_code": code, "agency_code": CENTRE},
        files={"file": ("giấy phép lái xe.pdf", b"%PDF-1.4\n%%EOF\n" * 20, "application/pdf")},
        headers=specialist,
    )
    assert result.status_code == 201, result.text
    assert await wallet(platform, citizen) == []  # not the citizen's before the resolution
    resolved = await act(
        platform, code, "resolve", specialist, result_documents=[result.json()["id"]]
    )
    assert resolved.status_code == 200, resolved.text
    assert (resolved.json()["status"], resolved.json()["timeliness"]) == ("resolved", "early")

    async def issued() -> list[str] | None:  # documents hears of it over Redis Streams
        found = await wallet(platform, citizen)
        return found or None

    assert await eventually(issued) == [result.json()["id"]]

    returned = await act(platform, code, "return", desk)
    assert returned.status_code == 200, returned.text
    final = returned.json()
    assert (final["status"], final["portal_status"], final["sequence"]) == ("returned", 10, 11)

    # The citizen follows it; the public lookup shows nothing personal.
    mine = await platform.client.get(f"/api/v1/dossiers/{code}", headers=citizen)
    assert mine.json()["status"] == "returned"
    public = await platform.client.get(f"/api/v1/lookup/{code}")
    assert public.status_code == 200
    assert "Trần Thị Bình" not in public.text
    assert "001099000001" not in public.text
    assert public.json()["timeliness"] == "early"

    clock = await tracking_clock(platform, code, final["sequence"])
    assert clock.timeliness == "early"
    assert await audited_actions(platform, code) == [
        "submit", "receive", "assign", "request-supplement", "supplement",
        "request-payment", "pay", "forward", "complete-step", "resolve", "return",
    ]  # fmt: skip
