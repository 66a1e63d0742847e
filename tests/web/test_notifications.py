"""Notifications in the browser: a citizen verifies an e-mail with the code it got, finds
the dossier's messages in the inbox (its count in the navigation) and marks them read,
chooses channels and kinds, follows the e-mail's stop link; an admin sees the delivery."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

from playwright.async_api import Page, expect

from tests.intake.flow import act, submit
from tests.notifications.conftest import until
from tests.notifications.test_lifecycle import code_in
from tests.web.browser import check_page
from tests.web.conftest import CITIZEN, PASSWORD, Site, log_in
from tests.web.test_desk_journey import OFFICER_PASSWORD, log_out, token

ADDRESS = "congdan.web@example.vn"


def mail_folder(site: Site) -> Path:
    runtime = site.platform.apps["notifications"].state.runtime
    return Path(runtime.settings.platform.data_dir) / "mail"


def mails_to(site: Site, address: str) -> list[email.message.EmailMessage]:
    folder = mail_folder(site)
    found = []
    for path in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        if parsed["To"] == address:
            found.append(parsed)
    return found


async def test_a_citizen_verifies_an_email_reads_the_inbox_and_stops_a_kind(
    site: Site, page: Page, shots: Path
) -> None:
    await log_in(page, site)
    await page.get_by_role("link", name=re.compile("^Thông báo")).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Thông báo")
    await page.get_by_role("link", name=re.compile("^Cài đặt nhận thông báo")).click()
    mail = page.get_by_role("region", name="Thư điện tử")
    await mail.get_by_label("Địa chỉ thư điện tử").fill(ADDRESS)
    await mail.get_by_role("button", name=re.compile("^Gửi mã xác minh")).click()
    await expect(page.get_by_role("status")).to_contain_text("Đã gửi mã xác minh")

    async def mailed() -> str | None:
        found = mails_to(site, ADDRESS)
        return code_in(found[-1]["Subject"]) if found else None

    code = await until(mailed)
    wrong = "000000" if code != "000000" else "111111"
    field = page.get_by_label(re.compile("^Mã xác minh"))
    await field.fill(wrong)
    verify = page.get_by_role("button", name="Xác minh thư điện tử")
    await verify.click()
    await expect(page.locator("#loi-email_code")).to_contain_text("Mã không đúng. Còn 4 lần thử.")
    await field.fill(wrong)  # each wrong try is kept, though the request failed
    await verify.click()
    await expect(page.locator("#loi-email_code")).to_contain_text("Mã không đúng. Còn 3 lần thử.")
    await expect(field).to_have_attribute("aria-invalid", "true")
    await field.fill(code)
    await verify.click()
    await expect(page.get_by_role("status")).to_contain_text("Đã xác minh")
    await expect(page.get_by_text("Đã xác minh", exact=True)).to_be_visible()
    await check_page(page, shots, "cai-dat-thong-bao")

    # A dossier is received: its message is in the inbox, counted in the navigation.
    platform = site.platform
    citizen = await token(site, CITIZEN, PASSWORD)
    number = (await submit(platform, citizen)).json()["code"]
    desk = await token(site, "canbo1", OFFICER_PASSWORD)
    assert (await act(platform, number, "receive", desk)).status_code == 200
    await until(lambda: _has_mail(site, f"Hồ sơ {number} đã được tiếp nhận"))
    await page.goto(site.url + "/thong-bao?chua-doc=1")
    badge = page.get_by_role("navigation", name="Điều hướng chính").locator(".badge")
    await expect(badge).to_have_attribute("aria-label", re.compile(r"^\d+ chưa đọc$"))
    item = page.locator("ol.inbox > li", has_text=f"Hồ sơ {number} đã được tiếp nhận")
    await expect(item).to_contain_text("Ngày hẹn trả kết quả:")
    await expect(item.get_by_role("link", name=f"Mở hồ sơ {number}")).to_have_attribute(
        "href", f"/ho-so/{number}"
    )
    await check_page(page, shots, "hop-thong-bao")
    await item.get_by_role("button", name=re.compile("^Đánh dấu đã đọc")).click()
    await expect(page.locator("ol.inbox > li", has_text=f"Hồ sơ {number}")).to_have_count(0)

    # Channels and kinds: e-mail off for "Có kết quả", saved.
    await page.goto(site.url + "/thong-bao/cai-dat")
    box = page.get_by_label("Có kết quả qua Thư điện tử")
    await expect(box).to_be_checked()
    await box.uncheck()
    await page.get_by_role("button", name="Lưu lựa chọn").click()
    await expect(page.get_by_role("status")).to_contain_text("Đã lưu lựa chọn")
    await expect(page.get_by_label("Có kết quả qua Thư điện tử")).not_to_be_checked()

    # The e-mail's stop link: a page that asks first, then stops that kind.
    [received] = [m for m in mails_to(site, ADDRESS) if number in m["Subject"]]
    link = re.search(r"(https?://\S+/huy-nhan-thu\?token=\S+)", received.get_content())
    assert link is not None, received.get_content()
    await log_out(page)
    await page.goto(link.group(1).replace("http://127.0.0.1", site.url.rsplit(":", 1)[0]))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Hủy nhận thư điện tử")
    await check_page(page, shots, "huy-nhan-thu")
    await page.get_by_role("button", name="Xác nhận hủy nhận thư").click()
    await expect(page.get_by_role("status")).to_contain_text("“Hồ sơ được tiếp nhận”")
    forged = await page.goto(site.url + "/huy-nhan-thu?token=abc.def.ghi")
    assert forged is not None
    await page.get_by_role("button", name="Xác nhận hủy nhận thư").click()
    await expect(page.get_by_role("alert")).to_contain_text("không hợp lệ")


async def _has_mail(site: Site, subject: str) -> bool:
    return any(m["Subject"] == subject for m in mails_to(site, ADDRESS))


async def test_an_admin_sees_the_delivery_and_the_dead_letters(
    site: Site, page: Page, shots: Path
) -> None:
    await log_in(page, site, "admin", "admin-demo")
    await page.get_by_role("link", name="Thông báo").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Thông báo đã gửi")
    await expect(
        page.get_by_role("table", name="Số thông báo theo kênh và trạng thái")
    ).to_be_visible()
    await page.get_by_label("Kênh", exact=True).select_option("inbox")
    await page.get_by_role("button", name="Lọc").click()
    await expect(page).to_have_url(re.compile(r"kenh=inbox"))
    await check_page(page, shots, "quan-tri-thong-bao")
