"""The calendar page beyond single days: a pending day enabled, and an agency's weekly
sessions changed, each previewed before it is saved on its decision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from services.web.pages.admin import calendar_edit, sessions_of
from tests.platform import eventually
from tests.web.browser import check_page
from tests.web.conftest import Site, log_in

CENTRE = "000.00.15.H49"
PENDING = "2026-11-24"  # the shipped calendar's pending Vietnamese Culture Day


async def calendar(site: Site) -> dict[str, Any]:
    """The centre's calendar as tracking serves it (once tracking has heard of the centre:
    a fresh platform announces its agencies by events)."""

    async def served() -> dict[str, Any] | None:
        answer = await site.platform.client.get(f"/api/v1/calendars/{CENTRE}")
        found: dict[str, Any] = answer.json()
        return found if answer.status_code == 200 else None

    return await eventually(served)


async def test_an_admin_enables_a_pending_day_and_changes_the_weeks_sessions(
    site: Site, page: Page, shots: Path
) -> None:
    before = await calendar(site)
    assert [d["status"] for d in before["days"] if d["day"] == PENDING] == ["pending"]
    await log_in(page, site, "admin", "admin-demo")
    await page.goto(site.url + f"/quan-tri/lich?co-quan={CENTRE}")
    pending = page.locator(
        "section", has=page.get_by_role("heading", name="Ngày đang chờ áp dụng:")
    )
    await expect(pending).to_contain_text("24/11/2026")
    await check_page(page, shots, "lich-co-quan")

    # The pending day, enabled: no name needed, only the decision.
    await page.get_by_label("Cơ quan", exact=True).select_option(CENTRE)
    await page.get_by_label("Ngày", exact=True).fill(PENDING)
    await page.get_by_label("Loại ngày", exact=True).select_option("enable")
    await page.locator("#decision").fill("Nghị định 175/2025/NĐ-CP")
    await page.get_by_role("button", name="Xem trước").first.click()
    await page.get_by_role("button", name="Lưu thay đổi lịch").click()
    await expect(page.get_by_role("status")).to_contain_text("Đã lưu.")
    after = await calendar(site)
    assert [d["status"] for d in after["days"] if d["day"] == PENDING] == ["active"]

    # The week: Saturday mornings worked; a session that does not read is refused there.
    await page.goto(site.url + f"/quan-tri/lich?co-quan={CENTRE}")
    week = page.locator("form", has=page.get_by_role("heading", name="Buổi làm việc trong tuần: "))
    await expect(week.get_by_label("Thứ Hai")).to_have_value("07:30-11:30, 13:00-17:00")
    await week.get_by_label("Thứ Bảy").fill("sáng thứ Bảy")
    await week.get_by_label("Văn bản quyết định (bắt buộc)").fill("Quyết định 12/QĐ-TTPVHCC")
    await week.get_by_role("button", name="Xem trước").click()
    await expect(page.locator("#loi-tuan_5")).to_contain_text("07:30-11:30")
    await week.get_by_label("Thứ Bảy").fill("7:30-11:30")
    await week.get_by_role("button", name="Xem trước").click()
    await expect(page.get_by_role("heading", name="Xem trước:")).to_be_visible()
    await check_page(page, shots, "lich-tuan-xem-truoc")
    assert (await calendar(site))["week"] == before["week"]  # a preview changes nothing
    await page.get_by_role("button", name="Lưu thay đổi lịch").click()
    await expect(page.get_by_role("status")).to_contain_text("Đã lưu.")
    saturday = (await calendar(site))["week"]["5"]
    assert saturday == [{"start": "07:30:00", "end": "11:30:00"}]


def test_sessions_and_day_changes_as_an_admin_types_them() -> None:
    assert sessions_of("7:30-11:30, 13:00 - 17:00") == [
        {"start": "07:30", "end": "11:30"}, {"start": "13:00", "end": "17:00"},
    ]  # fmt: skip
    assert sessions_of("  ") == []  # a weekly day off
    assert sessions_of("sáng") is None
    body, errors = calendar_edit({"agency": CENTRE, "day": PENDING, "type": "enable",
                                  "decision": "QĐ 1"})  # fmt: skip
    assert (body, errors) == (
        {"decision": "QĐ 1", "days": [{"day": PENDING, "action": "enable"}]},
        {},
    )
    _, errors = calendar_edit({"agency": CENTRE, "day": PENDING, "type": "off", "decision": "QĐ 1"})
    assert errors == {"/name": "Trường này là bắt buộc."}  # a day off is named
    _, errors = calendar_edit({"agency": CENTRE, "thay_doi": "tuan", "tuan_5": "x", "decision": ""})
    assert set(errors) == {"/tuan_5", "/decision"}
