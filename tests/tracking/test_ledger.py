"""The clock ledger: dossier events in, each dossier's clock out, in any order, once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.tracking import ledger
from services.tracking.config import TrackingSettings
from services.tracking.consumers import apply_calendar_change, apply_dossier
from services.tracking.models import ClockAlert, DossierClock, OutboxRecord
from shared.contracts.dossiers import DossierEvent
from shared.contracts.events import EventEnvelope
from shared.db import Database
from tests.tracking.conftest import CENTRE, runtime_of

CODE = "000.00.15.H49-261123-0001"
THREE_DAYS = {"unit": "working_days", "value": 3}


def event(
    kind: DossierEvent, sequence: int, at: str, code: str = CODE, **facts: Any
) -> EventEnvelope:
    payload = {"at": at, "agency_code": CENTRE, "procedure_code": "1.004873", **facts}
    return EventEnvelope(
        type=kind, source="intake", subject=code, sequence=sequence, payload=payload
    )


def received(
    at: str = "2026-11-23T09:00:00+07:00", code: str = CODE, **facts: Any
) -> EventEnvelope:
    facts = {"time_limit": THREE_DAYS, "channel": "online", **facts}
    return event(DossierEvent.RECEIVED, 1, at, code=code, **facts)


@pytest.fixture
async def database(tracking_settings: TrackingSettings) -> AsyncIterator[Database]:
    database = Database(tracking_settings.db_url)
    yield database
    await database.dispose()


async def apply(database: Database, *events: EventEnvelope) -> None:
    for envelope in events:
        async with database.session() as session:
            await apply_dossier(runtime_of(database), session, envelope)


async def clock(database: Database, code: str = CODE) -> DossierClock:
    async with database.session() as session:
        found = await session.get(DossierClock, code)
        assert found is not None
        return found


def local(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def utc(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(UTC).isoformat()


class TestReplay:
    async def test_receipt_starts_the_clock(self, database: Database) -> None:
        await apply(database, received())
        found = await clock(database)
        assert local(found.due_at) == utc("2026-11-26T09:00:00+07:00")
        assert local(found.due_soon_at) == utc("2026-11-25T09:00:00+07:00")
        assert (found.status, found.paused, found.budget_minutes) == ("open", False, 1440)

    async def test_a_supplement_pauses_and_the_answer_resumes_with_the_time_left(
        self, database: Database
    ) -> None:
        await apply(
            database,
            received(),
            event(DossierEvent.SUPPLEMENT_REQUESTED, 2, "2026-11-24T09:00:00+07:00"),
        )
        paused = await clock(database)
        assert (paused.paused, paused.due_at) == (True, None)
        await apply(database, event(DossierEvent.SUPPLEMENTED, 3, "2026-11-30T09:00:00+07:00"))
        resumed = await clock(database)
        # 480 used; 960 left from Monday 30/11 09:00: Wednesday 2/12 09:00.
        assert local(resumed.due_at) == utc("2026-12-02T09:00:00+07:00")

    async def test_events_out_of_order_and_repeated_give_the_same_clock(
        self, database: Database
    ) -> None:
        events = [
            received(),
            event(DossierEvent.SUPPLEMENT_REQUESTED, 2, "2026-11-24T09:00:00+07:00"),
            event(DossierEvent.SUPPLEMENTED, 3, "2026-11-30T09:00:00+07:00"),
            event(DossierEvent.RESOLVED, 4, "2026-12-01T10:00:00+07:00", electronic_result=True),
        ]
        await apply(database, events[3], events[1], events[0], events[1], events[2], events[3])
        found = await clock(database)
        assert (found.status, found.outcome, found.timeliness) == ("finished", "resolved", "early")
        # Before the pause 480; after it Monday 30/11 09:00–17:00 (390) and Tuesday to 10:00.
        assert found.used_minutes == 480 + 390 + 150
        assert found.electronic_result is True

    async def test_a_second_supplement_request_counts_late(self, database: Database) -> None:
        await apply(
            database,
            received(),
            event(DossierEvent.SUPPLEMENT_REQUESTED, 2, "2026-11-23T10:00:00+07:00"),
            event(DossierEvent.SUPPLEMENTED, 3, "2026-11-23T11:00:00+07:00"),
            event(DossierEvent.SUPPLEMENT_REQUESTED, 4, "2026-11-23T13:00:00+07:00"),
            event(DossierEvent.SUPPLEMENTED, 5, "2026-11-23T14:00:00+07:00"),
            event(DossierEvent.RESOLVED, 6, "2026-11-24T09:00:00+07:00"),
        )
        found = await clock(database)
        assert (found.supplement_requests, found.timeliness) == (2, "late")

    async def test_a_reappointed_dossier_stays_late(self, database: Database) -> None:
        await apply(
            database,
            received(),
            event(
                DossierEvent.REAPPOINTED,
                2,
                "2026-11-25T09:00:00+07:00",
                new_due_at="2026-12-04T17:00:00+07:00",
                reason="Chờ ý kiến liên ngành",
            ),
            event(DossierEvent.RESOLVED, 3, "2026-11-25T10:00:00+07:00"),
        )
        found = await clock(database)
        assert found.timeliness == "late"
        assert local(found.appointment_at) == utc("2026-12-04T17:00:00+07:00")

    async def test_resolved_after_the_due_date_is_late(self, database: Database) -> None:
        await apply(
            database, received(), event(DossierEvent.RESOLVED, 2, "2026-11-26T09:01:00+07:00")
        )
        assert (await clock(database)).timeliness == "late"

    async def test_same_day_and_calendar_day_limits(self, database: Database) -> None:
        same_day = {"unit": "same_day", "cutoff_hour": 15}
        calendar_days = {"unit": "calendar_days", "value": 10}
        await apply(
            database,
            event(DossierEvent.RECEIVED, 1, "2026-11-23T15:30:00+07:00", code="A",
                  time_limit=same_day),
            # 10 days from Monday 23/11 is Thursday 3/12: due at its end.
            event(DossierEvent.RECEIVED, 1, "2026-11-23T09:00:00+07:00", code="B",
                  time_limit=calendar_days),
            # 10 days from Saturday 21/11 is Tuesday 1/12.
            event(DossierEvent.RECEIVED, 1, "2026-11-21T09:00:00+07:00", code="C",
                  time_limit=calendar_days),
        )  # fmt: skip
        assert local((await clock(database, "A")).due_at) == utc("2026-11-24T17:00:00+07:00")
        assert local((await clock(database, "B")).due_at) == utc("2026-12-03T17:00:00+07:00")
        assert local((await clock(database, "C")).due_at) == utc("2026-12-01T17:00:00+07:00")

    async def test_no_clock_before_receipt(self, database: Database) -> None:
        await apply(database, event(DossierEvent.REFUSED, 1, "2026-11-23T09:00:00+07:00"))
        async with database.session() as session:
            assert await session.get(DossierClock, CODE) is None

    async def test_a_dossier_event_without_its_sequence_is_refused(
        self, database: Database
    ) -> None:
        envelope = received().model_copy(update={"sequence": None})
        async with database.session() as session:
            with pytest.raises(ledger.MalformedEvent):
                await apply_dossier(runtime_of(database), session, envelope)


class TestScanner:
    async def scan(self, database: Database, now: str) -> dict[str, int]:
        async with database.session() as session:
            return await ledger.scan(
                session, runtime_of(database).events, now=datetime.fromisoformat(now)
            )

    async def test_alerts_once_per_threshold(self, database: Database) -> None:
        await apply(database, received())
        assert await self.scan(database, "2026-11-24T09:00:00+07:00") == {
            "due_soon": 0,
            "overdue": 0,
        }
        soon = "2026-11-25T10:00:00+07:00"
        assert await self.scan(database, soon) == {"due_soon": 1, "overdue": 0}
        assert await self.scan(database, soon) == {"due_soon": 0, "overdue": 0}
        late = "2026-11-26T09:30:00+07:00"
        assert await self.scan(database, late) == {"due_soon": 0, "overdue": 1}
        assert await self.scan(database, late) == {"due_soon": 0, "overdue": 0}
        async with database.session() as session:
            alerts = await session.scalar(select(func.count()).select_from(ClockAlert))
            topics = (await session.scalars(select(OutboxRecord.topic))).all()
        assert alerts == 2
        assert topics.count("dossier") == 2

    async def test_a_finished_or_paused_dossier_is_not_alerted(self, database: Database) -> None:
        await apply(
            database,
            received(),
            event(DossierEvent.SUPPLEMENT_REQUESTED, 2, "2026-11-24T09:00:00+07:00"),
            received(code="other"),
            event(DossierEvent.RESOLVED, 2, "2026-11-24T09:00:00+07:00", code="other"),
        )
        assert await self.scan(database, "2026-12-30T09:00:00+07:00") == {
            "due_soon": 0,
            "overdue": 0,
        }


class TestRecomputation:
    async def test_a_calendar_change_moves_open_due_dates_and_reports_why(
        self, database: Database, api: httpx.AsyncClient
    ) -> None:
        await apply(
            database,
            received(),  # due Thursday 26/11 09:00
            received(code="finished"),
            event(DossierEvent.RESOLVED, 2, "2026-11-24T09:00:00+07:00", code="finished"),
        )
        body = {
            "decision": "Quyết định nghỉ ngày 25/11",
            "days": [{"day": "2026-11-25", "working": False, "name": "Nghỉ", "kind": "agency"}],
        }
        admin = {"authorization": f"Bearer {api.headers['x-test-admin']}"}
        response = await api.post(f"/api/v1/calendars/{CENTRE}/changes", json=body, headers=admin)
        assert response.status_code == 201
        # The change's event reaches tracking's own consumer (here applied by hand).
        async with database.session() as session:
            change = (
                await session.scalars(select(OutboxRecord).where(OutboxRecord.topic == "calendar"))
            ).one()
            envelope = EventEnvelope.model_validate_json(change.envelope)
            await apply_calendar_change(runtime_of(database), session, envelope)
        assert local((await clock(database)).due_at) == utc("2026-11-27T09:00:00+07:00")
        report_url = f"/api/v1/calendars/{CENTRE}/changes/1/report"
        assert (await api.get(report_url)).status_code == 401  # admins only
        report = (await api.get(report_url, headers=admin)).json()
        [moved] = report["moved"]
        assert moved["dossier_code"] == CODE
        assert (moved["old_due_at"], moved["new_due_at"]) == (
            "2026-11-26T02:00:00Z",
            "2026-11-27T02:00:00Z",
        )
        assert "Quyết định nghỉ ngày 25/11" in moved["reason"]
        missing = await api.get(f"/api/v1/calendars/{CENTRE}/changes/9/report", headers=admin)
        assert missing.status_code == 404
