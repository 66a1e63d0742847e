"""Actions on dossiers through the gateway (PostgreSQL, Redis, S3): what is refused and
how, the rules of supplements and apologies, queues, the audit chain, and due dates
tracking moves after a calendar change."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import delete, func, select, update

from services.intake import audit
from services.intake.machine import Action
from services.intake.models import AuditEntry, Dossier
from services.intake.repository.queues import encode_cursor
from services.tracking.models import DossierClock
from shared.auth import Position, Principal, Role
from shared.db import Database
from tests.conftest import PgDatabase
from tests.infra import S3Server
from tests.intake.flow import (
    APPLICANT,
    PDF,
    act,
    at,
    audited_actions,
    documents_for,
    held_upstream,
    instant,
    set_clock,
    submit,
    transactions_waiting,
    upload,
)
from tests.platform import CENTRE, Platform, distributed, eventually

EVERY_POSITION = (Position.DESK, Position.SPECIALIST, Position.LEADER)
OTHER_AGENCY = "000.00.07.H49"


@pytest.fixture
async def platform(pg_database: PgDatabase, s3_server: S3Server) -> AsyncIterator[Platform]:
    async with distributed(pg_database, s3_server) as running:
        set_clock(running, at("2026-03-02 09:00"))
        yield running


async def state(platform: Platform, code: str) -> tuple[str, int, int]:
    """Status, sequence and audit entries of a dossier, as intake stores them."""
    database = Database(platform.urls["intake"])
    try:
        async with database.session() as session:
            dossier = await session.get(Dossier, code)
            assert dossier is not None
            entries = await session.scalar(
                select(func.count()).where(AuditEntry.dossier_code == code)
            )
            return dossier.status, dossier.sequence, int(entries or 0)
    finally:
        await database.dispose()


async def filed(platform: Platform, citizen: dict[str, str]) -> str:
    response = await submit(platform, citizen)
    assert response.status_code == 201, response.text
    code: str = response.json()["code"]
    return code


def body_for(action: Action, document: str) -> dict[str, Any]:
    """A body complete enough that only the state can make the action illegal."""
    bodies: dict[Action, dict[str, Any]] = {
        Action.REFUSE: {"reason": "Không thuộc thẩm quyền"},
        Action.REQUEST_SUPPLEMENT: {"missing": ["Giấy khám sức khỏe"]},
        Action.SUPPLEMENT: {"documents": [{"requirement": 0, "id": document}]},
        Action.REQUEST_PAYMENT: {"amount_vnd": 135000},
        Action.PAY: {"payment_reference": "MOCK"},
        Action.FORWARD: {"to_agency_code": OTHER_AGENCY, "budget_hours": 8},
        Action.RESOLVE: {"result_documents": [document]},
        Action.APOLOGIZE: {"new_due_at": "2026-12-31T09:00:00+07:00", "reason": "Chờ xác minh"},
        Action.REQUEST_WITHDRAWAL: {"reason": "Không còn nhu cầu"},
        Action.WITHDRAW: {"reason": "Công dân rút hồ sơ"},
        Action.STOP: {"reason": "Dừng theo quyết định"},
    }
    return bodies.get(action, {})


# Paying is the provider's notice or the desk's receipt, never the citizen's own call.
CITIZEN_ACTIONS = {Action.SUPPLEMENT, Action.REQUEST_WITHDRAWAL}


class TestIllegalActions:
    async def test_every_action_the_state_does_not_allow_is_409_and_changes_nothing(
        self, platform: Platform
    ) -> None:
        citizen = platform.citizen("citizen-1")
        officer = platform.officer("all-1", *EVERY_POSITION)
        document = await upload(platform, citizen)
        code = await filed(platform, citizen)
        legal_when_submitted = {Action.RECEIVE, Action.REFUSE, Action.REQUEST_WITHDRAWAL,
                                Action.STOP}  # fmt: skip
        before = await state(platform, code)
        for action in Action:
            if action in legal_when_submitted:
                continue
            actor = citizen if action in CITIZEN_ACTIONS else officer
            response = await act(platform, code, action.value, actor, **body_for(action, document))
            assert response.status_code == 409, (action, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            assert await state(platform, code) == before

        refused = await act(platform, code, "refuse", officer, reason="Hồ sơ không đúng thẩm quyền")
        assert refused.status_code == 200
        after = await state(platform, code)
        assert after[0] == "refused"
        for action in Action:  # a final status allows nothing
            actor = citizen if action in CITIZEN_ACTIONS else officer
            response = await act(platform, code, action.value, actor, **body_for(action, document))
            assert response.status_code == 409, (action, response.text)
        assert await state(platform, code) == after

    async def test_who_may_act(self, platform: Platform) -> None:
        citizen = platform.citizen("citizen-1")
        code = await filed(platform, citizen)
        before = await state(platform, code)
        other_citizen = platform.citizen("citizen-2")
        specialist = platform.officer("spec-1", Position.SPECIALIST)
        outsider = platform.officer("desk-9", *EVERY_POSITION, agency=OTHER_AGENCY)
        cases = [
            (citizen, "receive", 403),  # a citizen acting as an officer
            (specialist, "receive", 403),  # receipt is the desk's
            (outsider, "receive", 404),  # another agency's officers do not see it
            (other_citizen, "request-withdrawal", 404),  # nor do other citizens
            ({}, "receive", 401),
        ]
        for headers, action, status in cases:
            response = await act(platform, code, action, headers, reason="Không còn nhu cầu")
            assert response.status_code == status, (action, response.text)
        assert await state(platform, code) == before
        unknown = await act(platform, code, "approve", platform.officer("d", Position.DESK))
        assert unknown.status_code == 422
        missing = await act(platform, f"{CENTRE}-260302-9999", "receive",
                            platform.officer("d", Position.DESK))  # fmt: skip
        assert missing.status_code == 404


class TestRules:
    async def test_a_second_supplement_request_warns_and_counts_the_dossier_late(
        self, platform: Platform
    ) -> None:
        citizen = platform.citizen("citizen-1")
        desk = platform.officer("desk-1", Position.DESK, Position.SPECIALIST)
        code = await filed(platform, citizen)
        assert (await act(platform, code, "receive", desk)).status_code == 200
        assert (await act(platform, code, "assign", desk)).status_code == 200
        empty = await act(platform, code, "request-supplement", desk, missing=[])
        assert empty.status_code == 422  # every missing item is listed
        first = await act(platform, code, "request-supplement", desk, missing=["Ảnh 3x4"])
        assert first.status_code == 200
        document = await upload(platform, citizen)
        supplied = await act(platform, code, "supplement", citizen,
                             documents=[{"requirement": 0, "id": document}])  # fmt: skip
        assert supplied.status_code == 200, supplied.text
        before = await state(platform, code)
        second = await act(platform, code, "request-supplement", desk, missing=["Bản gốc"])
        assert second.status_code == 409
        assert "trễ hạn" in second.json()["detail"]
        assert await state(platform, code) == before
        confirmed = await act(platform, code, "request-supplement", desk, missing=["Bản gốc"],
                              confirm_counted_late=True)  # fmt: skip
        assert confirmed.status_code == 200
        assert confirmed.json()["counted_late"] == "second_supplement_request"
        assert confirmed.json()["supplement_requests"] == 2

    async def test_an_apology_only_for_a_late_dossier_with_a_later_date(
        self, platform: Platform
    ) -> None:
        citizen = platform.citizen("citizen-1")
        desk = platform.officer("desk-1", Position.DESK, Position.SPECIALIST)
        code = await filed(platform, citizen)
        received = await act(platform, code, "receive", desk)
        due = received.json()["due_at"]  # Monday 09:00 + 5 working days: Monday 09/03 09:00
        assert instant(due) == at("2026-03-09 09:00")
        past = await act(platform, code, "apologize", desk, reason="Chờ xác minh thêm",
                         new_due_at="2026-03-01T09:00:00+07:00")  # fmt: skip
        assert past.status_code == 422
        early = await act(platform, code, "apologize", desk, reason="Chờ xác minh thêm",
                          new_due_at="2026-03-05T09:00:00+07:00")  # fmt: skip
        assert early.status_code == 422  # not late, and the date is before the due date
        unconfirmed = await act(platform, code, "apologize", desk, reason="Chờ xác minh thêm",
                                new_due_at="2026-03-16T09:00:00+07:00")  # fmt: skip
        assert unconfirmed.status_code == 409  # it would count late: the officer confirms it
        assert "766" in unconfirmed.json()["detail"]
        unchanged = (await platform.client.get(f"/api/v1/dossiers/{code}", headers=desk)).json()
        assert unchanged["counted_late"] is None
        assert unchanged["appointment_at"] == due
        offered = {a["action"]: a for a in unchanged["allowed_actions"]}
        assert offered["apologize"]["counts_late"] is True
        apology = await act(platform, code, "apologize", desk, reason="Chờ xác minh thêm",
                            new_due_at="2026-03-16T09:00:00+07:00",
                            confirm_counted_late=True)  # fmt: skip
        assert apology.status_code == 200, apology.text
        dossier = apology.json()
        assert instant(dossier["appointment_at"]) == at("2026-03-16 09:00")
        assert dossier["due_at"] == due  # the legal due date stays; the dossier counts late
        assert dossier["counted_late"] == "reappointed"

    async def test_withdrawal_and_stop(self, platform: Platform) -> None:
        citizen = platform.citizen("citizen-1")
        desk = platform.officer("desk-1", Position.DESK)
        leader = platform.officer("lead-1", Position.LEADER)
        code = await filed(platform, citizen)
        assert (await act(platform, code, "receive", desk)).status_code == 200
        no_reason = await act(platform, code, "request-withdrawal", citizen)
        assert no_reason.status_code == 422
        asked = await act(platform, code, "request-withdrawal", citizen, reason="Đã đổi ý")
        assert asked.json()["status"] == "withdrawal_requested"
        withdrawn = await act(platform, code, "withdraw", desk, reason="Theo đề nghị")
        assert (withdrawn.json()["status"], withdrawn.json()["portal_status"]) == ("stopped", 8)
        other = await filed(platform, citizen)
        assert (await act(platform, other, "stop", desk, reason="Dừng")).status_code == 403
        stopped = await act(platform, other, "stop", leader, reason="Dừng theo quyết định")
        assert stopped.json()["status"] == "stopped"


async def test_a_dossier_tells_each_caller_the_actions_open_to_them(platform: Platform) -> None:
    citizen = platform.citizen("citizen-1")
    desk = platform.officer("desk-1", Position.DESK)
    specialist_id = await platform.officer_id()
    specialist = platform.officer(specialist_id, Position.SPECIALIST)
    code = await filed(platform, citizen)
    path = f"/api/v1/dossiers/{code}"

    async def offered(headers: dict[str, str]) -> list[str]:
        answer = (await platform.client.get(path, headers=headers)).json()
        return [item["action"] for item in answer["allowed_actions"]]

    assert await offered(desk) == ["receive", "refuse"]
    assert await offered(citizen) == ["request-withdrawal"]
    assert await offered(specialist) == ["refuse"]
    received = (await act(platform, code, "receive", desk)).json()
    # An action's answer is the dossier as its actor now sees it.
    assert [a["action"] for a in received["allowed_actions"]] == ["refuse", "assign", "apologize"]
    # Only to an officer of the dossier's agency, by account id: not by username, not a
    # citizen, not an account the gateway does not know (nothing changes).
    for stranger in ("chuyenvien1", "citizen-1", "spec-1"):
        refused = await act(platform, code, "assign", desk, assignee=stranger)
        assert refused.status_code == 422, (stranger, refused.text)
        assert refused.json()["errors"][0]["pointer"] == "#/assignee"
    unassigned = (await platform.client.get(path, headers=desk)).json()
    assert (unassigned["status"], unassigned["assignee"]) == ("received", None)
    assert (await act(platform, code, "assign", desk, assignee=specialist_id)).status_code == 200
    assert await offered(specialist) == [
        "refuse", "assign", "request-supplement", "request-payment", "forward", "resolve",
        "apologize",
    ]  # fmt: skip
    # Held by the specialist: the desk may not take its processing steps.
    assert await offered(desk) == ["refuse", "apologize"]
    supplement = {"missing": ["Giấy khám sức khỏe"]}
    assert (
        await act(platform, code, "request-supplement", specialist, **supplement)
    ).status_code == 200
    assert await offered(citizen) == ["supplement", "request-withdrawal"]


class TestQueues:
    async def test_by_due_date_then_code_keyset_pages_and_counts(self, platform: Platform) -> None:
        citizen = platform.citizen("citizen-1")
        desk = platform.officer("desk-1", Position.DESK)
        documents = await documents_for(platform, "TTHC-20", citizen)
        codes = []
        for day in ("2026-03-02 09:00", "2026-03-03 09:00", "2026-03-04 09:00"):
            set_clock(platform, at(day))
            for _ in range(2):
                response = await submit(platform, citizen, documents=documents)
                codes.append(response.json()["code"])
        for code in reversed(codes[:4]):  # received out of order: the queue sorts by due date
            set_clock(platform, at("2026-03-0" + code[-6] + " 10:00"))
            assert (await act(platform, code, "receive", desk)).status_code == 200
        set_clock(platform, at("2026-03-09 10:30"))  # the first two are overdue by then

        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await platform.client.get(f"/api/v1/queues/{CENTRE}", params=params,
                                              headers=desk)).json()  # fmt: skip
            pages += 1
            if pages == 1:
                assert page["counts"] == {"on_track": 0, "due_soon": 2, "overdue": 2,
                                          "paused": 0, "not_received": 2,
                                          "resolved": 0}  # fmt: skip
            seen += [item["code"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == codes  # by due date, the ones not received last, by code
        assert pages == 3

        queue = f"/api/v1/queues/{CENTRE}"
        rows = (await platform.client.get(queue, params={"limit": 10}, headers=desk)).json()
        assert {row["applicant_name"] for row in rows["items"]} == {APPLICANT["full_name"]}
        left = [row["remaining_minutes"] for row in rows["items"]]
        # Received 10:00, five working days: overdue by 30 and 60 working minutes... in
        # the order of the queue; the ones not received have no clock.
        assert [m is not None and m < 0 for m in left[:2]] == [True, True]
        assert all(m is not None and 0 < m <= 480 for m in left[2:4])
        assert left[4:] == [None, None]
        other = await platform.client.get(queue, params={"procedure": "TTHC-01"}, headers=desk)
        assert other.json()["items"] == []
        assert set(other.json()["counts"].values()) == {0}
        same = await platform.client.get(queue, params={"procedure": "TTHC-20"}, headers=desk)
        assert [row["code"] for row in same.json()["items"]] == codes
        assert same.json()["counts"] == rows["counts"]

        overdue = await platform.client.get(queue, params={"timeliness": "overdue"}, headers=desk)
        assert [item["code"] for item in overdue.json()["items"]] == codes[:2]
        assert {item["timeliness"] for item in overdue.json()["items"]} == {"overdue"}
        waiting = await platform.client.get(queue, params={"status": "submitted"}, headers=desk)
        assert [item["code"] for item in waiting.json()["items"]] == codes[4:]
        bad = await platform.client.get(f"/api/v1/queues/{CENTRE}", params={"cursor": "x"},
                                        headers=desk)  # fmt: skip
        assert bad.status_code == 422
        naive = encode_cursor("2026-03-02T09:00:00", codes[0])  # an instant without offset
        bad = await platform.client.get(queue, params={"cursor": naive}, headers=desk)
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["parameter"] == "cursor"
        outsider = platform.officer("d9", Position.DESK, agency=OTHER_AGENCY)
        denied = await platform.client.get(f"/api/v1/queues/{CENTRE}", headers=outsider)
        assert denied.status_code == 403
        mine = await platform.client.get("/api/v1/dossiers", headers=citizen)
        assert [item["code"] for item in mine.json()["items"]] == codes[::-1]
        theirs = await platform.client.get("/api/v1/dossiers", headers=platform.citizen("c-2"))
        assert theirs.json()["items"] == []


async def test_the_audit_chain_verifies_and_names_a_tampered_entry(platform: Platform) -> None:
    citizen = platform.citizen("citizen-1")
    desk = platform.officer("desk-1", Position.DESK)
    code = await filed(platform, citizen)
    await act(platform, code, "receive", desk)
    await act(platform, code, "assign", desk)
    database = Database(platform.urls["intake"])
    try:
        async with database.session() as session:
            checked, breaks = await audit.verify(session)
        assert (checked, breaks) == (3, [])
        async with database.session() as session:
            await session.execute(
                update(AuditEntry)
                .where(AuditEntry.dossier_code == code, AuditEntry.sequence == 2)
                .values(actor="someone-else")
            )
        async with database.session() as session:
            _, breaks = await audit.verify(session)
        assert [(b.sequence, b.reason) for b in breaks] == [(2, "content changed")]
        async with database.session() as session:  # the last entry, removed
            await session.execute(
                delete(AuditEntry).where(AuditEntry.dossier_code == code, AuditEntry.sequence == 3)
            )
        async with database.session() as session:
            _, breaks = await audit.verify(session)
        assert [(b.sequence, b.reason) for b in breaks] == [
            (2, "content changed"),
            (3, "last entry missing"),
        ]
    finally:
        await database.dispose()


async def test_a_calendar_change_moves_the_due_date_in_intake_as_in_tracking(
    platform: Platform,
) -> None:
    citizen = platform.citizen("citizen-1")
    desk = platform.officer("desk-1", Position.DESK)
    code = await filed(platform, citizen)
    received = await act(platform, code, "receive", desk)
    assert instant(received.json()["due_at"]) == at("2026-03-09 09:00")
    admin = platform.auth(Principal(subject="admin-1", username="admin", role=Role.ADMIN))
    calendar = f"/api/v1/calendars/{CENTRE}"
    before = (await platform.client.get(calendar)).json()
    database = Database(platform.urls["tracking"])

    async def clocked() -> DossierClock | None:
        async with database.session() as session:
            return await session.get(DossierClock, code)

    await eventually(clocked)  # tracking has the dossier's clock from intake's event
    # Tried first: the dossier it would move, and nothing moved, nothing kept.
    edit = {
        "decision": "Quyết định 12/QĐ-TTPVHCC",
        "days": [
            {"day": "2026-03-04", "working": False, "name": "Chuyển trụ sở", "kind": "agency"}
        ],
    }
    saturday = {"day": "2026-03-07", "working": True, "name": "Làm việc thứ Bảy"}
    previews = {}
    for name, tried in (("off", edit), ("made up", {**edit, "days": [*edit["days"], saturday]})):
        preview = await platform.client.post(f"{calendar}/changes/preview", json=tried,
                                             headers=admin)  # fmt: skip
        assert preview.status_code == 200, preview.text
        previews[name] = preview.json()
    [would] = previews["off"]["moved"]
    assert would["dossier_code"] == code
    assert instant(would["old_due_at"]) == at("2026-03-09 09:00")
    assert instant(would["new_due_at"]) == at("2026-03-10 09:00")  # a working day later
    assert previews["made up"]["moved"] == []  # the Saturday makes up for it
    after = (await platform.client.get(calendar)).json()
    assert (after["code"], after["version"]) == (before["code"], before["version"])
    unmoved = (await platform.client.get(f"/api/v1/dossiers/{code}", headers=citizen)).json()
    assert unmoved["due_at"] == received.json()["due_at"]
    outside = {**edit, "days": [{**saturday, "day": "2031-01-04"}]}
    bad = await platform.client.post(f"{calendar}/changes/preview", json=outside, headers=admin)
    assert bad.status_code == 422
    desk_try = await platform.client.post(f"{calendar}/changes/preview", json=edit, headers=desk)
    assert desk_try.status_code == 403
    # Made: the version the previews would have made, built from what is committed (an
    # engine kept from the last preview, with its Saturday, would move nothing).
    change = await platform.client.post(f"{calendar}/changes", json=edit, headers=admin)
    assert change.status_code == 201, change.text
    assert (change.json()["calendar_code"], change.json()["version"]) == (
        previews["off"]["calendar_code"], previews["off"]["version"],
    )  # fmt: skip
    moved = None
    for _ in range(200):
        moved = (await platform.client.get(f"/api/v1/dossiers/{code}", headers=citizen)).json()
        if moved["due_at"] != received.json()["due_at"]:
            break
        await asyncio.sleep(0.05)  # tracking recomputes, then intake applies its event
    assert moved is not None
    assert instant(moved["due_at"]) == at("2026-03-10 09:00")  # one working day later
    clock = await clocked()
    await database.dispose()
    assert clock is not None
    assert clock.due_at == instant(moved["due_at"])
    assert moved["calendar_version"] == change.json()["version"]


async def test_a_due_date_counted_on_a_stale_calendar_is_corrected_by_tracking(
    platform: Platform,
) -> None:
    """Intake keeps a calendar for a minute; a dossier received in that minute after a
    change gets tracking's date through dossier.due_changed, and the change is audited."""
    citizen = platform.citizen("citizen-1")
    desk = platform.officer("desk-1", Position.DESK)
    first, second = await filed(platform, citizen), await filed(platform, citizen)
    assert (await act(platform, first, "receive", desk)).status_code == 200  # cached now
    admin = platform.auth(Principal(subject="admin-1", username="admin", role=Role.ADMIN))
    change = await platform.client.post(
        f"/api/v1/calendars/{CENTRE}/changes",
        json={
            "decision": "Quyết định 13/QĐ-TTPVHCC",
            "days": [{"day": "2026-03-05", "working": False, "name": "Kiểm kê", "kind": "agency"}],
        },
        headers=admin,
    )
    assert change.status_code == 201, change.text
    received = await act(platform, second, "receive", desk)
    assert instant(received.json()["due_at"]) == at("2026-03-09 09:00")  # the old calendar
    dossier: dict[str, Any] = {}
    for _ in range(200):
        dossier = (await platform.client.get(f"/api/v1/dossiers/{second}", headers=citizen)).json()
        if instant(dossier["due_at"]) != at("2026-03-09 09:00"):
            break
        await asyncio.sleep(0.05)  # tracking's consumer, then intake's
    assert instant(dossier["due_at"]) == at("2026-03-10 09:00")
    assert await audited_actions(platform, second) == ["submit", "receive", "due_changed"]


async def test_an_action_holds_no_lock_or_transaction_while_another_service_answers(
    platform: Platform,
) -> None:
    """A receive waits for tracking (the agency's calendar): meanwhile the dossier's row
    is free and intake holds no transaction, so a slow service stalls nobody else."""
    code = await filed(platform, platform.citizen("citizen-1"))
    desk = platform.officer("desk-1", Position.DESK)
    other = await asyncpg.connect(platform.urls["intake"].replace("+asyncpg", ""))
    try:
        async with held_upstream(platform, "tracking") as asked:
            receiving = asyncio.create_task(act(platform, code, "receive", desk))
            await asyncio.wait_for(asked.wait(), 10)
            async with other.transaction():
                await other.execute("SET LOCAL lock_timeout = '200ms'")
                locked = await other.fetchval(
                    "SELECT code FROM dossiers WHERE code = $1 FOR UPDATE", code
                )
            assert locked == code
            assert await transactions_waiting(other) == 0
    finally:
        await other.close()
    received = await receiving
    assert received.status_code == 200, received.text
    assert (await state(platform, code))[0] == "received"


async def test_leaders_see_each_officers_load_and_lateness(platform: Platform) -> None:
    citizen = platform.citizen("citizen-1")
    desk = platform.officer("desk-1", Position.DESK)
    leader = platform.officer("lead-1", Position.LEADER)
    specialist_id = await platform.officer_id()
    specialist = platform.officer(specialist_id, Position.SPECIALIST)
    codes = [await filed(platform, citizen) for _ in range(3)]
    for code in codes:
        assert (await act(platform, code, "receive", desk)).status_code == 200
    for code in codes[:2]:
        assigned = await act(platform, code, "assign", desk, assignee=specialist_id)
        assert assigned.status_code == 200, assigned.text
    assert (await act(platform, codes[2], "assign", desk)).status_code == 200  # the desk's own
    result = await platform.client.post(
        "/api/v1/documents/results", headers=specialist,
        data={"owner": "citizen-1", "dossier_code": codes[0], "agency_code": CENTRE},
        files={"file": ("kết quả.pdf", PDF, "application/pdf")},
    )  # fmt: skip
    assert result.status_code == 201, result.text
    resolved = await act(platform, codes[0], "resolve", specialist,
                         result_documents=[result.json()["id"]])  # fmt: skip
    assert resolved.status_code == 200, resolved.text
    set_clock(platform, at("2026-03-20 09:00"))  # the open ones are overdue by then
    path = f"/api/v1/queues/{CENTRE}/load"
    load = await platform.client.get(path, params={"from": "2026-03-01"}, headers=leader)
    assert load.status_code == 200, load.text
    rows = {row["assignee"]: row for row in load.json()}
    assert rows[specialist_id] == {"assignee": specialist_id, "open": 1, "due_soon": 0,
                                   "overdue": 1, "finished": 1, "finished_late": 0}  # fmt: skip
    assert rows["desk-1"]["open"] == rows["desk-1"]["overdue"] == 1
    # The queue: the resolved one waits for the desk, its clock stopped, so it is not
    # overdue whatever its due date says; it has a bucket and a filter of its own.
    queue = f"/api/v1/queues/{CENTRE}"
    page = (await platform.client.get(queue, headers=desk)).json()
    assert (page["counts"]["overdue"], page["counts"]["resolved"]) == (2, 1)
    for bucket, expected in (("overdue", sorted(codes[1:])), ("resolved", [codes[0]])):
        listed = await platform.client.get(queue, params={"timeliness": bucket}, headers=desk)
        assert sorted(item["code"] for item in listed.json()["items"]) == expected, bucket
    # For the agency's leaders only.
    assert (await platform.client.get(path, headers=desk)).status_code == 403
    outsider = platform.officer("lead-9", Position.LEADER, agency=OTHER_AGENCY)
    assert (await platform.client.get(path, headers=outsider)).status_code == 403


async def test_an_action_retried_with_its_idempotency_key_is_done_once(
    platform: Platform,
) -> None:
    """The answer to an assignment was lost (a server restarted under it) and the
    officer's client sends it again with the same key: the first answer is replayed, and
    the dossier holds one assignment, not two (tests/chaos found the second)."""
    citizen = platform.citizen("citizen-1")
    desk = platform.officer("desk-1", Position.DESK)
    leader = platform.officer("leader-1", Position.LEADER)
    code = await filed(platform, citizen)
    assert (await act(platform, code, "receive", desk)).status_code == 200
    url = f"/api/v1/dossiers/{code}/actions/assign"
    body: dict[str, Any] = {}  # the leader takes it
    key = {**leader, "idempotency-key": "assign-once-1"}
    first = await platform.client.post(url, json=body, headers=key)
    assert first.status_code == 200, first.text
    again = await platform.client.post(url, json=body, headers=key)
    assert (again.status_code, again.headers.get("idempotent-replayed")) == (200, "true")
    assert again.json() == first.json()
    assert await audited_actions(platform, code) == ["submit", "receive", "assign"]
    # Without the key the same request is a second assignment, as an officer meant it.
    assert (await platform.client.post(url, json=body, headers=leader)).status_code == 200
    assert await audited_actions(platform, code) == ["submit", "receive", "assign", "assign"]
    # The key is for that action on that dossier only.
    elsewhere = await platform.client.post(
        f"/api/v1/dossiers/{code}/actions/receive", json={}, headers=key
    )
    assert elsewhere.status_code == 422
    # A refused action keeps nothing: the key is free for the request that is allowed.
    other = {**desk, "idempotency-key": "desk-1"}
    refused = await platform.client.post(url, json=body, headers=other)
    assert refused.status_code in (403, 409)
    returned = await platform.client.post(
        f"/api/v1/dossiers/{code}/actions/return", json={}, headers=other
    )
    assert returned.status_code == 409  # not resolved yet: refused, the key released again
    assert await audited_actions(platform, code) == ["submit", "receive", "assign", "assign"]
