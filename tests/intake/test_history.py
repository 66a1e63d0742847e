"""A dossier's history for its applicant: each step by position and agency, when
officers opened it, and how its appointment was reached."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from shared.auth import Position
from tests.intake.flow import act, at, set_clock, submit
from tests.platform import CENTRE, Platform, embedded


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    async with embedded(tmp_path) as running:
        yield running


async def history(platform: Platform, code: str, headers: dict[str, str]) -> dict[str, Any]:
    answer = await platform.client.get(f"/api/v1/dossiers/{code}/history", headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_the_citizen_sees_who_by_position_and_agency_never_by_name(
    platform: Platform,
) -> None:
    citizen = platform.citizen("citizen-1")
    desk = platform.officer("desk-1", Position.DESK)
    specialist = platform.officer("spec-1", Position.SPECIALIST)
    set_clock(platform, at("2026-02-13 15:50"))  # the Friday before Tết
    code = (await submit(platform, citizen)).json()["code"]
    set_clock(platform, at("2026-02-13 16:00"))
    assert (await act(platform, code, "receive", desk)).status_code == 200
    set_clock(platform, at("2026-02-23 09:00"))
    # The specialist opens it twice in a few minutes (one view), then acts.
    for _ in range(2):
        assert (await platform.client.get(f"/api/v1/dossiers/{code}", headers=specialist)
                ).status_code == 200  # fmt: skip
    assert (await act(platform, code, "assign", specialist)).status_code == 200
    asked = await act(platform, code, "request-supplement", specialist,
                      missing=["Giấy khám sức khỏe còn hiệu lực"])  # fmt: skip
    assert asked.status_code == 200, asked.text
    # The citizen's own reads are not views.
    await platform.client.get(f"/api/v1/dossiers/{code}", headers=citizen)

    seen = await history(platform, code, citizen)
    steps = [(s["label"], s["to_status_label"], s["position_label"], s["agency_code"])
             for s in seen["steps"]]  # fmt: skip
    assert steps == [
        ("Nộp hồ sơ", "Mới đăng ký (chờ tiếp nhận)", None, None),
        ("Tiếp nhận", "Đã tiếp nhận", "Cán bộ một cửa", CENTRE),
        ("Giao xử lý", "Đang xử lý", "Chuyên viên xử lý", CENTRE),
        ("Yêu cầu bổ sung", "Yêu cầu bổ sung", "Chuyên viên xử lý", CENTRE),
    ]
    assert seen["steps"][-1]["missing"] == ["Giấy khám sức khỏe còn hiệu lực"]
    assert [(v["position_label"], v["agency_code"]) for v in seen["views"]] == [
        ("Chuyên viên xử lý", CENTRE)
    ]
    assert "spec-1" not in str(seen)
    assert "desk-1" not in str(seen)
    # Officers see the accounts too; another citizen sees nothing of it.
    assert (await history(platform, code, desk))["steps"][1]["actor"] == "desk-1"
    other = await platform.client.get(
        f"/api/v1/dossiers/{code}/history", headers=platform.citizen("citizen-2")
    )
    assert other.status_code == 404


async def test_the_appointment_explained_day_by_day(platform: Platform) -> None:
    citizen = platform.citizen("citizen-1")
    desk = platform.officer("desk-1", Position.DESK)
    specialist = platform.officer("spec-1", Position.SPECIALIST)
    set_clock(platform, at("2026-02-13 15:50"))
    code = (await submit(platform, citizen)).json()["code"]
    before = await platform.client.get(f"/api/v1/dossiers/{code}/appointment", headers=citizen)
    assert before.json()["due_at"] is None  # not received: no clock yet
    set_clock(platform, at("2026-02-13 16:00"))
    await act(platform, code, "receive", desk)
    set_clock(platform, at("2026-02-23 09:00"))
    await act(platform, code, "assign", specialist)
    await act(platform, code, "request-supplement", specialist, missing=["Giấy khám"])
    answer = await platform.client.get(f"/api/v1/dossiers/{code}/appointment", headers=citizen)
    assert answer.status_code == 200, answer.text
    explained = answer.json()
    skipped = {day["day"]: day for day in explained["skipped_days"]}
    # Tết 2026: from Saturday 14/02 to Sunday 22/02, each day with its reason.
    assert {"2026-02-14", "2026-02-16", "2026-02-17", "2026-02-20", "2026-02-22"} <= set(skipped)
    assert skipped["2026-02-17"]["kind"] != "weekly"
    assert skipped["2026-02-17"]["reason"]
    assert explained["working_minutes"] == 5 * 480
    [pause] = explained["pauses"]
    assert pause["end"] is None  # waiting for the citizen
    assert explained["calendar_code"] is not None
