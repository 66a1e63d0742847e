"""The pages anyone opens: search, a procedure, the lookup, the statistics, logging in
and registering; in a real browser, each checked by axe and the keyboard."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, expect

from tests.intake.flow import submit
from tests.platform import CENTRE
from tests.web.browser import check_page
from tests.web.conftest import CITIZEN, PASSWORD, Site, log_in


async def test_a_citizen_finds_birth_registration_without_diacritics(
    site: Site, page: Page, shots: Path
) -> None:
    await page.goto(site.url + "/")
    await expect(page).to_have_title(re.compile("Thủ tục hành chính"))
    await check_page(page, shots, "trang-chu")
    await page.get_by_label("Tên thủ tục").fill("dang ky khai sinh")
    await page.keyboard.press("Enter")
    result = page.get_by_role("link", name="Đăng ký khai sinh", exact=True)
    await expect(result).to_be_visible()
    await expect(page).to_have_url(re.compile(r"q=dang\+ky\+khai\+sinh"))
    await result.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Đăng ký khai sinh")
    await expect(page.get_by_role("link", name="Nộp hồ sơ trực tuyến")).to_be_visible()
    # The legal time in plain words, the fees as amounts, the basis in law.
    await expect(page.get_by_text("Ngay trong ngày tiếp nhận")).to_be_visible()
    await expect(page.locator("td", has_text="8.000 đ/bản")).to_be_visible()
    await expect(page.get_by_text("Luật Hộ tịch 2014 (Điều 16)")).to_be_visible()
    await check_page(page, shots, "thu-tuc")


async def test_search_filters_and_pages_without_javascript(site: Site, browser: Browser) -> None:
    context = await browser.new_context(java_script_enabled=False, locale="vi-VN")
    try:
        page = await context.new_page()
        await page.goto(site.url + "/")
        await page.get_by_label("Dịch vụ công trực tuyến").select_option("full")
        await page.get_by_label("Cấp thực hiện").select_option("commune")
        await page.get_by_role("button", name="Tìm kiếm").click()
        await expect(page).to_have_url(re.compile(r"level=commune&online=full"))
        listed = page.locator(".results li")
        assert await listed.count() > 0
        for text in await listed.all_inner_texts():
            assert "Cấp xã" in text
            assert "Trực tuyến toàn trình" in text
        # Paging keeps the filters; an unknown filter value is dropped, not an error.
        await page.goto(site.url + "/?online=toan-trinh&page=abc")
        await expect(page.get_by_role("heading", name=re.compile("33 thủ tục"))).to_be_visible()
        await page.get_by_role("link", name="Trang sau →").click()
        await expect(page.get_by_text("Trang 2 / 4")).to_be_visible()
    finally:
        await context.close()


async def test_public_lookup_shows_a_dossier_without_anything_personal(
    site: Site, page: Page, shots: Path
) -> None:
    filed = await submit(site.platform, site.platform.citizen(CITIZEN), agency_code=CENTRE)
    assert filed.status_code == 201, filed.text
    code = filed.json()["code"]
    await page.goto(site.url + "/tra-cuu")
    await page.get_by_label("Mã hồ sơ (in trên giấy tiếp nhận)").fill(code)
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(site.url + f"/tra-cuu/{code}")
    await expect(page.get_by_text("Mới đăng ký (chờ tiếp nhận)")).to_be_visible()
    await expect(page.get_by_text("Đổi giấy phép lái xe")).to_be_visible()
    body = await page.locator("main").inner_text()
    assert "Trần Thị Bình" not in body
    assert CITIZEN not in body
    await check_page(page, shots, "tra-cuu")
    answer = await page.goto(site.url + "/tra-cuu/KHONG-CO-HO-SO-NAY")
    assert answer is not None
    assert answer.status == 404
    await expect(
        page.get_by_role("heading", name=re.compile("Không tìm thấy hồ sơ"))
    ).to_be_visible()


async def test_public_statistics_render_without_login(site: Site, page: Page, shots: Path) -> None:
    await page.goto(site.url + "/thong-ke")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Tỷ lệ giải quyết hồ sơ đúng hạn"
    )
    await page.get_by_role("link", name="Theo lĩnh vực").click()
    await expect(page).to_have_url(re.compile("theo=linh-vuc"))
    await check_page(page, shots, "thong-ke")


async def test_log_in_and_out_with_a_password(site: Site, page: Page, shots: Path) -> None:
    await page.goto(site.url + "/dang-nhap")
    await check_page(page, shots, "dang-nhap")
    await log_in(page, site, password="sai-mat-khau")
    await expect(page.get_by_role("alert")).to_have_text("Tên đăng nhập hoặc mật khẩu không đúng.")
    # What was typed stays; the password does not.
    await expect(page.get_by_label(re.compile("Số định danh cá nhân"))).to_have_value(CITIZEN)
    await log_in(page, site)
    await expect(page).to_have_url(site.url + "/ho-so")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Hồ sơ của tôi")
    await page.get_by_role("button", name=re.compile("Đăng xuất")).click()
    await expect(page.get_by_role("link", name="Đăng nhập", exact=True)).to_be_visible()
    # The API's session ended too: the old cookie's tokens are refused.
    answer = await page.goto(site.url + "/ho-so")
    assert answer is not None
    await expect(page).to_have_url(re.compile(r"/dang-nhap\?next=/ho-so"))


async def test_register_keeps_what_was_typed_and_says_what_is_wrong(
    site: Site, page: Page, shots: Path
) -> None:
    await page.goto(site.url + "/dang-ky")
    await page.get_by_label("Số định danh cá nhân (12 chữ số)").fill("999099000001")
    await page.get_by_label("Họ, chữ đệm và tên").fill("Phạm Thị Dung")
    await page.get_by_label("Mật khẩu (ít nhất 8 ký tự)").fill("mat-khau-dai")
    await page.get_by_label("Nhập lại mật khẩu").fill("mat-khau-dai")
    await page.get_by_role("button", name="Đăng ký").click()
    number = page.get_by_label("Số định danh cá nhân (12 chữ số)")
    await expect(number).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#loi-id_number")).to_contain_text("mã tỉnh")
    await expect(page.get_by_label("Họ, chữ đệm và tên")).to_have_value("Phạm Thị Dung")
    await check_page(page, shots, "dang-ky-loi")
    await number.fill("001199004321")
    await page.get_by_label("Mật khẩu (ít nhất 8 ký tự)").fill("mat-khau-dai")
    await page.get_by_label("Nhập lại mật khẩu").fill("mat-khau-dai")
    await page.get_by_role("button", name="Đăng ký").click()
    await expect(page).to_have_url(site.url + "/ho-so")
    await expect(page.get_by_text("Bạn chưa nộp hồ sơ nào.")).to_be_visible()


async def test_vneid_login_in_the_browser(site: Site, page: Page) -> None:
    await page.goto(site.url + "/dang-nhap?next=/thu-tuc/TTHC-01")
    await page.get_by_role("link", name="Đăng nhập bằng VNeID").click()
    await page.get_by_label("Số định danh cá nhân").fill("001099000002")
    await page.get_by_label(re.compile("Họ và tên|Họ, chữ đệm và tên")).fill("Nguyễn Văn An")
    await page.get_by_role("button", name=re.compile("Xác nhận")).click()
    await expect(page).to_have_url(site.url + "/thu-tuc/TTHC-01")
    await expect(page.get_by_role("button", name=re.compile("Đăng xuất"))).to_be_visible()


async def test_an_expired_login_returns_to_the_page_after_logging_in(
    site: Site, page: Page
) -> None:
    await log_in(page, site)
    await expect(page).to_have_url(site.url + "/ho-so")
    # Both tokens no longer valid (a login ended elsewhere, or long expired).
    await page.context.add_cookies(
        [{"name": "onestop_session", "value": "eyJhIjoieCIsInIiOiJ5In0", "url": site.url}]
    )
    await page.goto(site.url + "/ho-so?sau=")
    await expect(page).to_have_url(re.compile(r"/dang-nhap\?next=/ho-so"))
    await page.get_by_label(re.compile("Số định danh cá nhân")).fill(CITIZEN)
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/ho-so"))


async def test_a_forged_csrf_token_changes_nothing(site: Site, page: Page) -> None:
    await log_in(page, site)
    await expect(page).to_have_url(site.url + "/ho-so")
    await page.eval_on_selector("form[action='/dang-xuat'] input[name=csrf]", "e => e.value = 'x'")
    await page.get_by_role("button", name=re.compile("Đăng xuất")).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Biểu mẫu không hợp lệ")
    # Still logged in: the logout did not happen.
    await page.goto(site.url + "/ho-so")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Hồ sơ của tôi")


async def test_pages_forbid_framing_and_inline_script(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.url) as client:
        for path in ("/", "/thu-tuc/TTHC-01", "/tra-cuu", "/dang-nhap", "/thong-ke", "/khong-co"):
            answer = await client.get(path)
            policy = answer.headers["content-security-policy"]
            assert "script-src 'self'" in policy
            assert "frame-ancestors 'none'" in policy
            assert "unsafe-inline" not in policy
            assert answer.headers["x-frame-options"] == "DENY"
            assert "<script>" not in answer.text
            assert " on" + "click=" not in answer.text
        assert (await client.get("/khong-co")).status_code == 404
        # Static files carry their hash and are kept a year.
        home = (await client.get("/")).text
        css = re.search(r'href="(/static/app\.css\?v=[0-9a-f]+)"', home)
        assert css is not None
        answer = await client.get(css.group(1))
        assert "immutable" in answer.headers["cache-control"]


async def test_no_page_sends_more_than_100_kb_of_script_and_style(site: Site) -> None:
    assets = re.compile(r'<(?:script[^>]*src|link[^>]*rel="stylesheet"[^>]*href)="([^"]+)"')
    async with httpx.AsyncClient(base_url=site.url) as client:
        for path in ("/", "/thu-tuc/TTHC-20", "/tra-cuu", "/dang-nhap", "/thong-ke"):
            page = (await client.get(path)).text
            found = assets.findall(page)
            assert found, path
            total = sum([len((await client.get(src)).content) for src in found])
            assert total <= 100 * 1024, f"{path}: {total} bytes of script and style"
            assert all(src.startswith("/static/") for src in found)  # nothing from outside
