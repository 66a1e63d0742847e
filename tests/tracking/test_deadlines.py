"""Due dates over the national calendar, worked out by hand, through the deadline API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.tracking.conftest import CENTRE


async def deadline(api: httpx.AsyncClient, start: str, **duration: int) -> dict[str, Any]:
    response = await api.get(
        f"/api/v1/calendars/{CENTRE}/deadline", params={"start": start, **duration}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        # Tết Ất Tỵ 2025: 25/1–2/2 off. Fri 390 min, then Mon 3/2 07:30 + 90.
        ("2025-01-24T09:00:00+07:00", {"working_days": 1}, "2025-02-03T09:00:00+07:00"),
        # Tết Bính Ngọ 2026: 14/2–22/2 off. Fri 60, Mon 480, Tue 480, Wed 240 + 180.
        ("2026-02-13T16:00:00+07:00", {"working_days": 3}, "2026-02-25T16:00:00+07:00"),
        # 30/4–1/5 2026 (and Giỗ Tổ's make-up Monday before it). Wed 390, Mon 480, Tue 90.
        ("2026-04-29T09:00:00+07:00", {"working_days": 2}, "2026-05-05T09:00:00+07:00"),
        # 2024: Mon 29/4 swapped for Saturday 4/5, which is worked.
        ("2024-04-26T09:00:00+07:00", {"working_days": 3}, "2024-05-04T09:00:00+07:00"),
        # Quốc khánh 2026: Saturday 22/8 worked; the duration ends with Monday's morning.
        ("2026-08-21T13:00:00+07:00", {"working_days": 2}, "2026-08-24T11:30:00+07:00"),
        # ...and 29/8–2/9 off: Fri 390, then Thu 3/9 07:30 + 90.
        ("2026-08-28T09:00:00+07:00", {"working_days": 1}, "2026-09-03T09:00:00+07:00"),
        # Tết Dương lịch 2026: Fri 2/1 swapped (the package does not know it; the decision wins).
        ("2025-12-31T09:00:00+07:00", {"working_days": 2}, "2026-01-06T09:00:00+07:00"),
        # 2027 has no decision yet: the package's Tết (4/2–10/2) applies.
        ("2027-02-03T09:00:00+07:00", {"working_days": 1}, "2027-02-11T09:00:00+07:00"),
        # The lunch break counts from 13:00.
        ("2026-11-23T11:45:00+07:00", {"working_hours": 2}, "2026-11-23T15:00:00+07:00"),
        # After hours and at the weekend: the next working morning.
        ("2026-11-23T17:30:00+07:00", {"working_days": 1}, "2026-11-24T17:00:00+07:00"),
        ("2026-11-21T10:00:00+07:00", {"working_days": 1}, "2026-11-23T17:00:00+07:00"),
        # Exactly a session's end, and an instant given in UTC.
        ("2026-11-23T07:30:00+07:00", {"working_hours": 4}, "2026-11-23T11:30:00+07:00"),
        ("2026-11-23T02:00:00Z", {"working_days": 3}, "2026-11-26T09:00:00+07:00"),
    ],
)
async def test_due_dates_worked_out_by_hand(
    api: httpx.AsyncClient, start: str, duration: dict[str, int], due: str
) -> None:
    assert (await deadline(api, start, **duration))["due_at"] == due


async def test_the_explanation_names_each_skipped_day_and_its_source(
    api: httpx.AsyncClient,
) -> None:
    body = await deadline(api, "2026-08-28T09:00:00+07:00", working_days=1)
    skipped = {day["day"]: day for day in body["explanation"]["skipped_days"]}
    assert list(skipped) == ["2026-08-29", "2026-08-30", "2026-08-31", "2026-09-01", "2026-09-02"]
    assert skipped["2026-08-31"]["kind"] == "swapped"
    assert "22/8/2026" in skipped["2026-08-31"]["source"]
    assert skipped["2026-09-02"]["reason"] == "Quốc khánh"
    assert body["effective_start"] == "2026-08-28T09:00:00+07:00"
    assert body["explanation"]["calendar_code"] == "national"


async def test_a_worked_saturday_is_listed(api: httpx.AsyncClient) -> None:
    body = await deadline(api, "2026-08-21T13:00:00+07:00", working_days=2)
    assert [d["day"] for d in body["explanation"]["make_up_days"]] == ["2026-08-22"]


async def test_a_pending_holiday_is_a_working_day_until_enabled(api: httpx.AsyncClient) -> None:
    # 24/11/2026: the package lists Ngày Văn hóa Việt Nam; no decision put it in force.
    start = "2026-11-23T09:00:00+07:00"
    assert (await deadline(api, start, working_days=1))["due_at"] == "2026-11-24T09:00:00+07:00"
