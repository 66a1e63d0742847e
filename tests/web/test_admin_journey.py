"""An admin makes an officer in the browser; the officer logs in with the one-time
password, sets their own and sees their agency's queue; deactivated, their session
ends at once."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, Page, expect

from tests.web.browser import check_page
from tests.web.conftest import Site, log_in

CENTRE_NAME = "Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh"


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
