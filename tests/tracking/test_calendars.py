"""Reading and editing calendars: versions with decisions, inheritance, refusals."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import text

from services.tracking import calendars
from services.tracking import seed as tracking_seed
from services.tracking.consumers import apply_agency
from services.tracking.schemas import CalendarEdit
from shared.db import Database
from shared.errors import Conflict
from tests.conftest import PgDatabase
from tests.tracking.conftest import CENTRE, COMMUNE, agency_event, runtime_of

MONDAY = "2026-11-23T09:00:00+07:00"


def as_(api: httpx.AsyncClient, who: str) -> dict[str, str]:
    return {"authorization": f"Bearer {api.headers[f'x-test-{who}']}"}


async def due(api: httpx.AsyncClient, key: str, start: str = MONDAY, days: int = 1) -> str:
    response = await api.get(
        f"/api/v1/calendars/{key}/deadline", params={"start": start, "working_days": days}
    )
    assert response.status_code == 200, response.text
    value: str = response.json()["due_at"]
    return value


async def change(
    api: httpx.AsyncClient, key: str, body: dict[str, Any], who: str = "admin"
) -> httpx.Response:
    return await api.post(f"/api/v1/calendars/{key}/changes", json=body, headers=as_(api, who))


AGENCY_DAY_OFF = {
    "decision": "Quyết định 12/QĐ-TTPVHCC nghỉ chuyển trụ sở",
    "days": [{"day": "2026-11-25", "working": False, "name": "Chuyển trụ sở", "kind": "agency"}],
}


class TestReading:
    async def test_an_agency_reads_the_calendar_it_follows(self, api: httpx.AsyncClient) -> None:
        body = (await api.get(f"/api/v1/calendars/{CENTRE}", params={"year": 2026})).json()
        assert (body["code"], body["agency_code"], body["version"]) == ("national", CENTRE, 1)
        assert body["week"]["0"] == [
            {"start": "07:30:00", "end": "11:30:00"},
            {"start": "13:00:00", "end": "17:00:00"},
        ]
        days = {day["day"]: day for day in body["days"]}
        assert days["2026-11-24"]["status"] == "pending"
        assert days["2026-08-22"]["working"] is True
        assert all(day.startswith("2026-") for day in days)

    async def test_the_seed_records_where_the_package_and_the_decisions_disagree(
        self, api: httpx.AsyncClient
    ) -> None:
        [seeded] = (await api.get("/api/v1/calendars/national/changes")).json()
        assert seeded["changed_by"] == "seed"
        outcomes = {item["day"]: item["outcome"] for item in seeded["changes"]}
        assert outcomes == {
            "2026-01-02": "theo quyết định: ngày nghỉ",
            "2026-11-24": "chờ quyết định: chưa áp dụng",
        }

    async def test_an_unknown_agency_is_404(self, api: httpx.AsyncClient) -> None:
        response = await api.get(
            "/api/v1/calendars/999.99.99.H00/deadline", params={"start": MONDAY, "working_days": 1}
        )
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


class TestBadQuestions:
    @pytest.mark.parametrize(
        "params",
        [
            {"start": "2026-11-23T09:00:00", "working_days": 1},  # no offset
            {"start": MONDAY},  # no duration
            {"start": MONDAY, "working_days": 1, "working_hours": 2},  # two durations
            {"start": MONDAY, "working_days": 0},
            {"start": MONDAY, "working_days": -3},
            {"start": MONDAY, "working_days": 100_000},
            {"start": MONDAY, "working_hours": 10**9},
            {"start": "hôm nay", "working_days": 1},
        ],
    )
    async def test_422(self, api: httpx.AsyncClient, params: dict[str, Any]) -> None:
        response = await api.get(f"/api/v1/calendars/{CENTRE}/deadline", params=params)
        assert response.status_code == 422
        assert response.json()["errors"]

    @pytest.mark.parametrize("start", ["2030-12-30T09:00:00+07:00", "2023-06-01T09:00:00+07:00"])
    async def test_beyond_the_calendar_is_422_not_a_guess(
        self, api: httpx.AsyncClient, start: str
    ) -> None:
        response = await api.get(
            f"/api/v1/calendars/{CENTRE}/deadline", params={"start": start, "working_days": 5}
        )
        assert response.status_code == 422
        assert response.json()["title"] == "Ngoài phạm vi lịch làm việc"


class TestEditing:
    async def test_an_agency_day_off_moves_only_that_agencys_dates(
        self, api: httpx.AsyncClient
    ) -> None:
        tuesday = "2026-11-24T09:00:00+07:00"
        response = await change(api, CENTRE, AGENCY_DAY_OFF)
        assert response.status_code == 201, response.text
        assert (response.json()["calendar_code"], response.json()["version"]) == (CENTRE, 1)
        assert await due(api, CENTRE, tuesday) == "2026-11-26T09:00:00+07:00"
        assert await due(api, COMMUNE, tuesday) == "2026-11-25T09:00:00+07:00"
        calendar = (await api.get(f"/api/v1/calendars/{CENTRE}")).json()
        assert (calendar["code"], calendar["parent_code"]) == (CENTRE, "national")
        history = (await api.get(f"/api/v1/calendars/{CENTRE}/changes")).json()
        assert [(c["calendar_code"], c["changed_by"]) for c in history] == [
            (CENTRE, "admin"),
            ("national", "seed"),
        ]
        assert history[0]["decision"] == AGENCY_DAY_OFF["decision"]

    async def test_enabling_a_pending_national_day_moves_every_agency(
        self, api: httpx.AsyncClient
    ) -> None:
        assert await due(api, COMMUNE) == "2026-11-24T09:00:00+07:00"  # cached engine
        body = {
            "decision": "Bộ luật Lao động sửa đổi: 24/11 là ngày nghỉ lễ",
            "days": [{"day": "2026-11-24", "action": "enable"}],
        }
        response = await change(api, "national", body)
        assert response.status_code == 201, response.text
        assert response.json()["version"] == 2
        assert await due(api, COMMUNE) == "2026-11-25T09:00:00+07:00"
        assert await due(api, CENTRE) == "2026-11-25T09:00:00+07:00"

    async def test_an_agency_may_work_a_saturday(self, api: httpx.AsyncClient) -> None:
        body = {
            "decision": "Kế hoạch làm việc thứ Bảy tháng 11",
            "days": [{"day": "2026-11-28", "working": True, "name": "Làm việc thứ Bảy"}],
        }
        assert (await change(api, CENTRE, body)).status_code == 201
        friday = "2026-11-27T09:00:00+07:00"
        assert await due(api, CENTRE, friday) == "2026-11-28T09:00:00+07:00"

    async def test_an_agency_s_own_sessions_count(self, api: httpx.AsyncClient) -> None:
        morning = [{"start": "07:30", "end": "11:30"}]
        full_day = [*morning, {"start": "13:00", "end": "17:00"}]
        week = {str(day): full_day for day in range(5)} | {"5": morning}
        body = {"decision": "Quy chế làm việc sáng thứ Bảy của Trung tâm", "week": week}
        assert (await change(api, CENTRE, body)).status_code == 201
        # Friday 16:00 + 1 working day: Fri 60, Sat morning 240, Mon 07:30 + 180.
        friday = "2026-11-27T16:00:00+07:00"
        assert await due(api, CENTRE, friday) == "2026-11-30T10:30:00+07:00"
        assert await due(api, COMMUNE, friday) == "2026-11-30T16:00:00+07:00"
        calendar = (await api.get(f"/api/v1/calendars/{CENTRE}")).json()
        assert calendar["week"]["5"] == [{"start": "07:30:00", "end": "11:30:00"}]

    async def test_removing_an_own_day_restores_the_inherited_one(
        self, api: httpx.AsyncClient
    ) -> None:
        await change(api, CENTRE, AGENCY_DAY_OFF)
        undo = {
            "decision": "Hủy quyết định 12",
            "days": [{"day": "2026-11-25", "action": "remove"}],
        }
        response = await change(api, CENTRE, undo)
        assert response.status_code == 201
        assert response.json()["version"] == 2
        assert await due(api, CENTRE, "2026-11-24T09:00:00+07:00") == "2026-11-25T09:00:00+07:00"


class TestRefusedEdits:
    @pytest.mark.parametrize(
        ("body", "pointer"),
        [
            (
                {
                    "decision": "QĐ 1",
                    "days": [
                        {"day": "2031-01-02", "working": False, "name": "x", "kind": "agency"}
                    ],
                },
                "#/days/0/day",
            ),
            (
                {"decision": "QĐ 1", "days": [{"day": "2026-11-25", "action": "remove"}]},
                "#/days/0",
            ),
            (
                {"decision": "QĐ 1", "days": [{"day": "2026-11-25", "action": "enable"}]},
                "#/days/0",
            ),
            (
                {
                    "decision": "QĐ 1",
                    "week": {
                        "0": [
                            {"start": "08:00", "end": "12:00"},
                            {"start": "11:00", "end": "17:00"},
                        ]
                    },
                },
                "#/week",
            ),
            # Every weekday off: from 2027 on (no make-up Saturdays) no working day is left.
            ({"decision": "QĐ 1", "week": {str(d): [] for d in range(7)}}, "#/week"),
        ],
    )
    async def test_refused_and_nothing_changes(
        self, api: httpx.AsyncClient, body: dict[str, Any], pointer: str
    ) -> None:
        before = await due(api, CENTRE)
        response = await change(api, CENTRE, body)
        assert response.status_code == 422, response.text
        assert pointer in [error["pointer"] for error in response.json()["errors"]]
        assert await due(api, CENTRE) == before
        calendar = (await api.get(f"/api/v1/calendars/{CENTRE}")).json()
        assert calendar["code"] == "national"  # no layer was left behind
        assert len((await api.get(f"/api/v1/calendars/{CENTRE}/changes")).json()) == 1

    async def test_a_malformed_edit_is_422(self, api: httpx.AsyncClient) -> None:
        day_off_without_kind = {
            "decision": "QĐ 1",
            "days": [{"day": "2026-11-25", "working": False, "name": "x"}],
        }
        assert (await change(api, CENTRE, day_off_without_kind)).status_code == 422
        assert (await change(api, CENTRE, {"decision": "QĐ 1"})).status_code == 422

    @pytest.mark.parametrize(("who", "status"), [("citizen", 403)])
    async def test_only_admins_edit(self, api: httpx.AsyncClient, who: str, status: int) -> None:
        assert (await change(api, CENTRE, AGENCY_DAY_OFF, who)).status_code == status

    async def test_anonymous_edits_are_401(self, api: httpx.AsyncClient) -> None:
        response = await api.post(f"/api/v1/calendars/{CENTRE}/changes", json=AGENCY_DAY_OFF)
        assert response.status_code == 401


async def test_two_first_edits_of_one_agency_at_once_give_one_409(
    pg_database: PgDatabase,
) -> None:
    """Both would create the agency's layer; the second waits for the first, then is
    refused with 409 instead of failing with a 500."""
    database = Database(await pg_database("tracking"))
    try:
        async with database.session() as session:
            await tracking_seed.seed(session)
            centre = agency_event(CENTRE, "Trung tâm Phục vụ hành chính công")
            await apply_agency(runtime_of(database), session, centre)
        edit = CalendarEdit.model_validate(AGENCY_DAY_OFF)
        first = database.session_factory()
        await calendars.change(
            first, runtime_of(database).events, key=CENTRE, edit=edit, by="admin-1"
        )

        async def second() -> None:
            async with database.session() as session:
                await calendars.change(
                    session, runtime_of(database).events, key=CENTRE, edit=edit, by="admin-2"
                )

        waiting = asyncio.create_task(second())
        # Wait until the second really waits on the first's uncommitted layer row.
        blocked = text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        with anyio.fail_after(10):
            while True:
                async with database.engine.connect() as watcher:
                    if await watcher.scalar(blocked):
                        break
                await asyncio.sleep(0.02)
        assert not waiting.done()
        await first.commit()
        await first.close()
        with pytest.raises(Conflict):
            await waiting
    finally:
        await database.dispose()
