"""Statistics on a small data set whose numbers are worked out by hand below."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import httpx
import pytest

from services.tracking import stats
from services.tracking.config import TrackingSettings
from shared.auth import AgencyMembership, Position, Principal, Role, TokenService
from shared.contracts.dossiers import DossierEvent
from shared.contracts.events import EventEnvelope
from shared.db import Database
from tests.tracking.conftest import CENTRE, COMMUNE
from tests.tracking.test_ledger import apply, event, received

ADMIN = Principal(subject="a", username="admin", role=Role.ADMIN)
NOW = datetime.fromisoformat("2026-11-20T10:00:00+07:00")  # a Friday
NOVEMBER = {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}


def at(day: int, hour: int, minute: int = 0) -> str:
    return f"2026-11-{day:02d}T{hour:02d}:{minute:02d}:00+07:00"


def resolved(code: str, sequence: int, when: str, **facts: Any) -> Any:
    return event(DossierEvent.RESOLVED, sequence, when, code=code, **facts)


def rated(code: str, score: int) -> EventEnvelope:
    """The citizen's rating (intake's dossier.rated: no transition, no sequence)."""
    payload = {"score": score, "at": at(20, 9)}
    return EventEnvelope(type=DossierEvent.RATED, source="intake", subject=code,
                         payload=payload)  # fmt: skip


# Three working days each (1,440 working minutes); the centre unless said otherwise.
DATA = [
    # D1 Mon 2/11 09:00, due Thu 5/11 09:00; resolved Wed: early. Used 390 + 480 + 150.
    # Its applicant logged in with VNeID.
    received(at(2, 9), code="D1", reused_documents=1, applicant_verified=True),
    resolved("D1", 2, at(4, 10), electronic_result=True),
    # D2 resolved Thu 5/11 08:00, the due day before the due time: on time. Used 1,380.
    # D2: one component only on paper, so not digitised whatever its result (4.2).
    received(at(2, 9), code="D2", paper_documents=1),
    resolved("D2", 2, at(5, 8), electronic_result=True),
    # D3 resolved Thu 5/11 10:00: late. Used 1,500.
    received(at(2, 9), code="D3", channel="counter"),
    resolved("D3", 2, at(5, 10)),
    # D4 asked to supplement twice, resolved the next day: late by rule. Used 420
    # (09:00–09:30, 10:00–10:30, 11:00–11:30, Monday afternoon 240, Tuesday 90).
    received(at(2, 9), code="D4", channel="counter"),
    event(DossierEvent.SUPPLEMENT_REQUESTED, 2, at(2, 9, 30), code="D4"),
    event(DossierEvent.SUPPLEMENTED, 3, at(2, 10), code="D4"),
    event(DossierEvent.SUPPLEMENT_REQUESTED, 4, at(2, 10, 30), code="D4"),
    event(DossierEvent.SUPPLEMENTED, 5, at(2, 11), code="D4"),
    resolved("D4", 6, at(3, 9)),
    # D5 at the commune: Mon 9/11 09:00 to Tue 09:00, early. Used 480.
    received(at(9, 9), code="D5", agency_code=COMMUNE, channel="counter"),
    resolved("D5", 2, at(10, 9)),
    # Ratings: D1 satisfied; D2 (on time) and D3 (late) dissatisfied.
    rated("D1", 5),
    rated("D2", 1),
    rated("D3", 2),
    # Open at NOW (Friday 20/11 10:00):
    # O1 due Thu 19/11 09:00: overdue.
    received(at(16, 9), code="O1"),
    # O2 due Mon 23/11 10:00, one working day left from Fri 20/11 10:00: due soon.
    received(at(18, 10), code="O2", channel="post"),
    # O3 due Wed 25/11 08:00: on track.
    received(at(20, 8), code="O3", channel="counter"),
    # O4 waiting for a supplement: paused.
    received(at(19, 9), code="O4", channel="counter"),
    event(DossierEvent.SUPPLEMENT_REQUESTED, 2, at(19, 10), code="O4"),
]


@pytest.fixture
async def data(tracking_settings: TrackingSettings) -> AsyncIterator[Database]:
    database = Database(tracking_settings.db_url)
    await apply(database, *DATA)
    yield database
    await database.dispose()


async def timeliness(database: Database, **options: Any) -> Any:
    async with database.session() as session:
        return await stats.timeliness(
            session,
            principal=options.pop("principal", ADMIN),
            agency=options.pop("agency", None),
            procedure=None,
            field=None,
            group_by=options.pop("group_by", None),
            now=NOW,
            **NOVEMBER,
        )


class TestTimeliness:
    async def test_totals(self, data: Database) -> None:
        total = (await timeliness(data)).total
        assert (total.received, total.finished) == (9, 5)
        assert (total.early, total.on_time, total.late) == (2, 1, 2)
        assert (total.overdue, total.due_soon, total.on_track, total.paused) == (1, 1, 1, 1)
        assert total.in_time_rate.value == 60.0
        assert total.in_time_rate.inputs == {"early": 2, "on_time": 1, "finished": 5}
        assert total.late_rate.value == 40.0
        assert total.overdue_rate.value == 25.0

    async def test_by_agency(self, data: Database) -> None:
        rows = {row.key: row for row in (await timeliness(data, group_by="agency")).rows}
        assert (rows[CENTRE].finished, rows[CENTRE].late, rows[CENTRE].received) == (4, 2, 8)
        assert (rows[COMMUNE].finished, rows[COMMUNE].early) == (1, 1)

    async def test_average_resolution_time_in_the_procedures_unit(self, data: Database) -> None:
        [average] = (await timeliness(data)).resolution_times
        # (1,020 + 1,380 + 1,500 + 420 + 480) / 5 = 960 working minutes = 2 working days.
        assert (average.count, average.average.value, average.average.unit) == (
            5,
            2.0,
            "working_days",
        )

    async def test_an_officer_sees_their_own_agency_only(self, data: Database) -> None:
        officer = Principal(
            subject="o",
            username="canbo",
            role=Role.OFFICER,
            agencies=(AgencyMembership(agency_code=COMMUNE, position=Position.DESK),),
        )
        total = (await timeliness(data, principal=officer)).total
        assert (total.received, total.finished, total.early) == (1, 1, 1)


class TestIndex:
    async def test_the_766_figures_with_their_inputs(self, data: Database) -> None:
        async with data.session() as session:
            report = await stats.index(session, principal=ADMIN, agency=None, now=NOW, **NOVEMBER)
        by_code = {indicator.code: indicator for indicator in report.indicators}
        assert by_code["1.4"].available is False
        assert by_code["2.1"].rate is not None
        assert by_code["2.1"].rate.value == 60.0
        online = by_code["3.3"].rate
        assert online is not None
        assert (online.value, online.inputs) == (33.33, {"online": 3, "received": 9})
        assert by_code["3.6"].rate is not None
        assert by_code["3.6"].rate.value is None  # nothing paid: N/A, not 0
        assert by_code["4.1"].rate is not None
        assert by_code["4.1"].rate.value == 40.0  # 2 electronic results of 5
        digitised = by_code["4.2"].rate  # D1 alone: every component and its result
        assert digitised is not None
        assert (digitised.value, digitised.inputs) == (20.0, {"digitised": 1, "resolved": 5})
        assert by_code["4.3"].rate is not None
        assert by_code["4.3"].rate.value == 11.11  # 1 of 9 reused a document
        verified = by_code["4.5"].rate
        assert verified is not None  # D1 of the online D1, D2 and O1
        assert (verified.value, verified.inputs) == (33.33, {"verified": 1, "online": 3})
        satisfaction = by_code["5.c"]
        assert satisfaction.rate is not None
        # Late or dissatisfied, each counted once: D2, D3 and D4 of the five finished.
        assert satisfaction.rate.inputs == {"finished": 5, "late": 2, "rated": 3,
            "dissatisfied": 2, "late_or_dissatisfied": 3, "complaints": 0}  # fmt: skip
        assert (satisfaction.rate.value, satisfaction.points) == (40.0, 2.67)  # 6 × 40 / 90


class TestAccess:
    async def test_roles(self, api: httpx.AsyncClient, tracking_settings: TrackingSettings) -> None:
        tokens = TokenService.from_settings(tracking_settings.platform)
        officer = tokens.issue(
            Principal(
                subject="o",
                username="canbo1",
                role=Role.OFFICER,
                agencies=(AgencyMembership(agency_code=CENTRE, position=Position.DESK),),
            )
        )

        async def get(path: str, token: str | None, **params: str) -> int:
            headers = {"authorization": f"Bearer {token}"} if token else {}
            response = await api.get(path, params=params, headers=headers)
            return response.status_code

        for path in ("/api/v1/stats/timeliness", "/api/v1/stats/index"):
            assert await get(path, api.headers["x-test-admin"]) == 200
            assert await get(path, officer) == 200
            assert await get(path, officer, agency=COMMUNE) == 403
            assert await get(path, api.headers["x-test-citizen"]) == 403
            assert await get(path, None) == 401
            bad_period = await get(
                path, api.headers["x-test-admin"], **{"from": "2026-12-01", "to": "2026-11-01"}
            )
            assert bad_period == 422


class TestPublic:
    async def test_on_time_rates_by_agency_and_month(self, data: Database) -> None:
        async with data.session() as session:
            report = await stats.public_timeliness(session, group_by="agency", months=2, now=NOW)
        assert report.months == ["2026-10", "2026-11"]
        rows = {row.key: row for row in report.rows}
        october, november = rows[CENTRE].months
        assert (october.finished, october.in_time_rate.value) == (0, None)
        # D1 early, D2 on time, D3 and D4 late.
        assert (november.early, november.on_time, november.late) == (1, 1, 2)
        assert november.in_time_rate.value == 50.0
        assert rows[CENTRE].total.in_time_rate.inputs == {"early": 1, "on_time": 1, "finished": 4}
        assert rows[COMMUNE].total.in_time_rate.value == 100.0

    async def test_a_month_is_counted_in_vietnam_time(
        self, tracking_settings: TrackingSettings
    ) -> None:
        database = Database(tracking_settings.db_url)
        try:
            # Received 30/11, resolved 1/12 at 06:30 +07:00 (30/11 23:30 UTC): December's.
            await apply(
                database,
                received("2026-11-30T09:00:00+07:00", code="M1"),
                resolved("M1", 2, "2026-12-01T06:30:00+07:00"),
            )
            december = datetime.fromisoformat("2026-12-02T10:00:00+07:00")
            async with database.session() as session:
                report = await stats.public_timeliness(
                    session, group_by="field", months=2, now=december
                )
        finally:
            await database.dispose()
        [row] = report.rows
        assert [month.finished for month in row.months] == [0, 1]

    async def test_anyone_may_read_it(self, api: httpx.AsyncClient) -> None:
        answer = await api.get("/api/v1/stats/public", params={"group_by": "field"})
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["months"]) == 12
        assert (await api.get("/api/v1/stats/public", params={"months": 25})).status_code == 422
        refused = await api.get("/api/v1/stats/public", params={"group_by": "procedure"})
        assert refused.status_code == 422
