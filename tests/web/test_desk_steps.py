"""Inter-agency steps at the desk: the specialist forwards a dossier to another agency
with a time budget; that agency's officer finds it above their queue with the step's own
due date beside the dossier's appointment, and answers it; until then the dossier cannot
be resolved."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Page, expect

from tests.intake.flow import act, submit
from tests.web.browser import check_page
from tests.web.conftest import CITIZEN, PASSWORD, Site, log_in
from tests.web.test_desk_journey import OFFICER_PASSWORD, log_out, open_from_queue, token

JUSTICE = "000.00.07.H49"  # Sở Tư pháp, where the demo's tuphap1 works


async def test_a_forwarded_dossier_waits_for_the_other_agency_which_answers_its_step(
    site: Site, page: Page, shots: Path
) -> None:
    platform = site.platform
    citizen = await token(site, CITIZEN, PASSWORD)
    code = (await submit(platform, citizen)).json()["code"]
    desk = await token(site, "canbo1", OFFICER_PASSWORD)
    specialist = await token(site, "chuyenvien1", OFFICER_PASSWORD)
    assert (await act(platform, code, "receive", desk)).status_code == 200
    assert (await act(platform, code, "assign", specialist)).status_code == 200  # to herself

    # The specialist forwards it with the step's budget, and confirms.
    await log_in(page, site, "chuyenvien1", OFFICER_PASSWORD)
    await page.goto(site.url + f"/can-bo/ho-so/{code}")
    await page.locator("ul.actions a", has_text="Chuyển cơ quan phối hợp").click()
    await page.get_by_label("Cơ quan phối hợp").select_option(JUSTICE)
    await page.get_by_label(re.compile("^Thời gian dành cho bước này")).fill("16")
    await page.get_by_role("button", name="Tiếp tục").click()
    await expect(page.locator("dl.facts")).to_contain_text("Sở Tư pháp tỉnh Quảng Ninh, 16 giờ")
    await page.get_by_role("button", name="Xác nhận: Chuyển cơ quan phối hợp").click()
    await expect(page.get_by_text("Đã thực hiện xong.")).to_be_visible()
    steps = page.locator("section", has=page.get_by_role("heading", name="Cơ quan phối hợp"))
    await expect(steps).to_contain_text("Đang chờ cơ quan phối hợp")
    await expect(steps).to_contain_text("Hạn của bước:")
    # Waiting for the step: no resolution offered, and the API refuses one.
    await expect(page.locator("ul.actions a", has_text="Giải quyết xong")).to_have_count(0)
    refused = await act(platform, code, "resolve", specialist, result_documents=[])
    assert refused.status_code == 409, refused.text
    await log_out(page)

    # The other agency sees it above its queue, with the step's due date.
    await log_in(page, site, "tuphap1", OFFICER_PASSWORD)
    await expect(page).to_have_url(re.compile(r"/can-bo$"))
    forwarded = page.locator("[data-steps]")
    await expect(forwarded.get_by_role("heading")).to_have_text(
        "Hồ sơ liên thông chờ cơ quan xử lý: 1"
    )
    row = forwarded.get_by_role("row").filter(has_text=code)
    await expect(row).to_contain_text("Trần Thị Bình")
    await expect(row).to_contain_text("Trung tâm Phục vụ hành chính công")
    await expect(row).to_contain_text(re.compile("Sắp đến hạn|Trong hạn"))
    await check_page(page, shots, "lien-thong-hang-doi")
    await open_from_queue(page, code)
    actions = page.locator("ul.actions a")
    await expect(actions).to_have_text(["1 Hoàn thành bước liên thông"])  # nothing else
    await check_page(page, shots, "lien-thong-ho-so")
    await actions.first.click()
    # The answer is required; sent empty past the browser's check, the server says so.
    csrf = await page.locator("input[name=csrf]").first.get_attribute("value")
    assert csrf is not None
    empty = await page.request.post(page.url, form={"csrf": csrf, "note": " "})
    assert empty.status == 422
    assert "Trường này là bắt buộc." in await empty.text()
    await page.get_by_label("Kết quả xử lý của cơ quan phối hợp").fill(
        "Đã xác minh: người nộp không có án tích."
    )
    await page.get_by_role("button", name="Tiếp tục").click()
    await check_page(page, shots, "lien-thong-xac-nhan")
    await page.get_by_role("button", name="Xác nhận: Hoàn thành bước liên thông").click()
    await expect(page.get_by_text("Đã thực hiện xong.")).to_be_visible()
    await expect(steps).to_contain_text("Đã trả lời")
    await expect(steps).to_contain_text("người nộp không có án tích")
    await page.goto(site.url + "/can-bo")
    await expect(page.locator("[data-steps]")).to_have_count(0)

    # The handling agency may resolve it now.
    dossier = (await platform.client.get(f"/api/v1/dossiers/{code}", headers=specialist)).json()
    assert "resolve" in [a["action"] for a in dossier["allowed_actions"]]
    [step] = dossier["steps"]
    assert (step["agency_code"], step["late"]) == (JUSTICE, False)
