"""An admin makes an officer in the browser; the officer logs in with the one-time
password, sets their own and sees their agency's queue; deactivated, their session
ends at once."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.async_api import Browser, Page, expect

from shared.auth import Position
from tests.intake.flow import act, submit
from tests.platform import CENTRE, eventually
from tests.web.browser import check_page
from tests.web.conftest import CITIZEN, PASSWORD, Site, log_in
from tests.web.test_desk_journey import token

CENTRE_NAME = "Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh"
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


async def test_an_admin_makes_an_officer_who_sets_a_password_and_works(
    site: Site, page: Page, browser: Browser, shots: Path
) -> None:
    await log_in(page, site, "admin", "admin-demo")
    await expect(page).to_have_url(re.compile(r"/quan-tri/can-bo$"))
    await check_page(page, shots, "can-bo")
    await page.get_by_label("Tên đăng nhập").fill("tran.thi.mai")
    await page.get_by_label("Họ và tên").fill("Trần Thị Mai")
    await page.get_by_label("Cơ quan").select_option(label=CENTRE_NAME)
    await page.get_by_label("Chức danh").select_option(label="Cán bộ một cửa")
    await page.get_by_role("button", name="Tạo tài khoản").click()
    await expect(page.get_by_role("status")).to_contain_text("Đã tạo tài khoản tran.thi.mai")
    once = await page.locator("code.secret").inner_text()
    assert len(once) >= 12
    await check_page(page, shots, "da-tao")
    # The same name again: said at the field, nothing made twice.
    await page.get_by_label("Tên đăng nhập").fill("tran.thi.mai")
    await page.get_by_label("Họ và tên").fill("Trần Thị Mai")
    await page.get_by_label("Cơ quan").select_option(label=CENTRE_NAME)
    await page.get_by_role("button", name="Tạo tài khoản").click()
    await expect(page.locator("#loi-username")).to_contain_text("đã có")
    await expect(page.get_by_role("row").filter(has_text="tran.thi.mai")).to_have_count(1)

    officer = await (await browser.new_context(locale="vi-VN")).new_page()
    await log_in(officer, site, "tran.thi.mai", once)
    await expect(officer.get_by_role("heading", level=1)).to_have_text("Đặt mật khẩu mới")
    await check_page(officer, shots, "dat-mat-khau")
    await officer.get_by_label("Mật khẩu một lần").fill(once)
    await officer.get_by_label("Mật khẩu mới (ít nhất 10 ký tự)").fill("mai-mat-khau-2026")
    await officer.get_by_label("Nhập lại mật khẩu mới").fill("mai-mat-khau-2026")
    await officer.get_by_role("button", name="Đặt mật khẩu và đăng nhập").click()
    await expect(officer).to_have_url(re.compile(r"/can-bo$"))
    await expect(officer.get_by_text(f"{CENTRE_NAME} · Cán bộ một cửa")).to_be_visible()

    # Deactivated by the admin: the officer's next page asks for a login again.
    await page.get_by_role("link", name="Trần Thị Mai").click()
    await check_page(page, shots, "mot-can-bo")
    await page.get_by_role("button", name="Ngừng hoạt động").click()
    await expect(page.locator(".lead")).to_contain_text("Ngừng hoạt động")
    events = page.locator("section", has=page.get_by_role("heading", name="Nhật ký tài khoản"))
    await expect(events).to_contain_text("Tạo tài khoản")
    await expect(events).to_contain_text("Cán bộ tự đặt mật khẩu")
    await expect(events).to_contain_text("Ngừng hoạt động")
    await officer.reload()
    await expect(officer).to_have_url(re.compile(r"/dang-nhap\?next=/can-bo"))
    await officer.context.close()


async def test_a_calendar_change_is_previewed_with_the_dossiers_it_moves_then_saved(
    site: Site, page: Page, shots: Path
) -> None:
    platform = site.platform
    citizen = await token(site, CITIZEN, PASSWORD)
    code = (await submit(platform, citizen)).json()["code"]
    received = await act(platform, code, "receive", platform.officer("desk-1", Position.DESK))
    assert received.status_code == 200, received.text
    due = datetime.fromisoformat(received.json()["due_at"]).astimezone(VIETNAM)
    off = due.date() - timedelta(days=1)
    while off.weekday() >= 5:  # a working day before the due date
        off -= timedelta(days=1)
    day = {"day": off.isoformat(), "working": False, "name": "Chuyển trụ sở", "kind": "agency"}
    edit = {"decision": "Quyết định 99/QĐ-UBND", "days": [day]}
    admin = await token(site, "admin", "admin-demo")

    async def tracked() -> bool | None:  # tracking has the dossier's clock (an event away)
        tried = await platform.client.post(f"/api/v1/calendars/{CENTRE}/changes/preview",
                                           json=edit, headers=admin)  # fmt: skip
        return True if tried.json()["moved"] else None

    await eventually(tracked)

    await log_in(page, site, "admin", "admin-demo")
    await page.get_by_role("link", name="Lịch làm việc").click()
    await page.get_by_label("Cơ quan", exact=True).select_option(CENTRE)
    await page.get_by_label("Ngày", exact=True).fill(off.isoformat())
    await page.get_by_label("Tên, lý do").fill("Chuyển trụ sở")
    await page.get_by_label("Văn bản quyết định (bắt buộc)").fill("Quyết định 99/QĐ-UBND")
    await page.get_by_role("button", name="Xem trước").click()
    row = page.get_by_role("row").filter(has_text=code)
    await expect(row).to_contain_text(due.strftime("%d/%m/%Y %H:%M"))
    await check_page(page, shots, "lich-xem-truoc")
    unmoved = (await platform.client.get(f"/api/v1/dossiers/{code}", headers=citizen)).json()
    assert unmoved["due_at"] == received.json()["due_at"]  # a preview changes nothing
    await page.get_by_role("button", name="Lưu thay đổi lịch").click()
    await expect(page.get_by_role("status")).to_contain_text("Đã lưu.")

    async def moved() -> str | None:
        now = (await platform.client.get(f"/api/v1/dossiers/{code}", headers=citizen)).json()
        return None if now["due_at"] == received.json()["due_at"] else str(now["due_at"])

    assert datetime.fromisoformat(await eventually(moved)) > due
