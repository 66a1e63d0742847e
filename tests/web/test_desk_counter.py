"""Filing at the counter: the desk finds the procedure, fills the e-form for a citizen who
came in person, scans one paper and takes another on paper only, links the account of
the ID number, and prints the receipt with its appointment; a walk-in without an account
is filed, resolved with a result the desk prints, and returned."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import FilePayload, Page, expect

from tests.intake.flow import PDF, act
from tests.web.browser import check_page
from tests.web.conftest import CITIZEN, PASSWORD, Site, log_in
from tests.web.test_desk_journey import OFFICER_PASSWORD, log_out, token

CENTRE = "000.00.15.H49"
LICENCE_NAME = "Đổi giấy phép lái xe do ngành Giao thông vận tải cấp"
SCAN: FilePayload = {"name": "giấy phép cũ.pdf", "mimeType": "application/pdf", "buffer": PDF}


async def fill_applicant(page: Page, name: str, id_number: str) -> None:
    await page.get_by_label("Họ, chữ đệm và tên").first.fill(name)
    await page.get_by_label("Số định danh cá nhân").first.fill(id_number)
    await page.get_by_label("Địa chỉ liên hệ").fill("Phường Hồng Gai, Quảng Ninh")
    await page.get_by_label("Số giấy phép lái xe").fill("220123456789")
    await page.get_by_label(re.compile("^Hạng")).fill("B")


async def open_form(page: Page, site: Site) -> None:
    await page.goto(site.url + "/can-bo")
    await page.get_by_role("link", name="Nộp tại quầy").click()
    await page.get_by_label("Tìm thủ tục theo tên hoặc mã").fill("giấy phép lái xe")
    await page.get_by_role("button", name="Tìm").click()
    await page.get_by_role("link", name=LICENCE_NAME).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Nộp tại quầy: {LICENCE_NAME}")


async def test_the_desk_files_for_a_citizen_with_scans_and_links_their_account(
    site: Site, page: Page, shots: Path
) -> None:
    await log_in(page, site, "canbo1", OFFICER_PASSWORD)
    # A procedure this desk does not take is not filed here (the catalogue says who does).
    api = site.platform.client
    listed = (await api.get("/api/v1/procedures", params={"size": 100})).json()["items"]
    offered = [(await api.get(f"/api/v1/procedures/{p['code']}")).json() for p in listed]
    elsewhere = [p["code"] for p in offered if CENTRE not in p["offered_by"]]
    assert elsewhere
    response = await page.goto(site.url + f"/can-bo/nop-tai-quay/{elsewhere[0]}")
    assert response is not None
    assert response.status == 404
    await open_form(page, site)
    await check_page(page, shots, "nop-tai-quay")
    await fill_applicant(page, "Trần Thị Bình", "001099000001")
    documents = page.locator("fieldset.document")
    await documents.nth(0).get_by_label("Bản quét").set_input_files([SCAN])
    count = await documents.count()
    # Continue with nothing for the others: each required paper must be one or the other.
    await page.get_by_role("button", name="Tiếp tục: xác nhận").click()
    await expect(page.get_by_role("alert")).to_contain_text("chỗ cần sửa")
    await expect(
        page.get_by_text("Cần bản quét hoặc xác nhận đã nhận bản giấy.").first
    ).to_be_visible()
    await expect(documents.nth(0)).to_contain_text("Đã số hóa")  # the scan is kept
    for index in range(1, count):
        await documents.nth(index).get_by_label("Chỉ nhận bản giấy (không số hóa)").check()
    await page.get_by_role("button", name="Tiếp tục: xác nhận").click()
    link = page.get_by_role(
        "checkbox", name=re.compile("^Liên kết hồ sơ với tài khoản của Trần Thị Bình")
    )
    await expect(link).to_be_checked()
    await expect(page.get_by_text("đã số hóa")).to_have_count(1)
    await check_page(page, shots, "nop-tai-quay-xac-nhan")
    await page.get_by_role("button", name="Nộp và tiếp nhận hồ sơ").click()

    # Filed and received: the receipt with its appointment is the next thing to print.
    await expect(page.get_by_text("Đã thực hiện xong.")).to_be_visible()
    heading = await page.get_by_role("heading", level=1).text_content()
    assert heading is not None
    code = heading.removeprefix("Hồ sơ ").strip()
    receipt = page.get_by_role("link", name=re.compile("^In giấy tiếp nhận"))
    slip = await page.request.get(site.url + str(await receipt.get_attribute("href")))
    assert slip.headers["content-type"] == "application/pdf"
    await expect(page.locator("dl.facts").first).to_contain_text("Nộp tại quầy")
    await expect(page.get_by_text("bản số hóa tại quầy")).to_have_count(1)
    await check_page(page, shots, "nop-tai-quay-da-tiep-nhan")

    # The citizen follows it from their account.
    citizen = await token(site, CITIZEN, PASSWORD)
    mine = (await site.platform.client.get(f"/api/v1/dossiers/{code}", headers=citizen)).json()
    assert (mine["status"], mine["channel"]) == ("received", "counter")
    assert sum(1 for d in mine["documents"] if d["digitised"]) == 1


async def test_a_walk_in_without_an_account_is_filed_resolved_and_returned(
    site: Site, page: Page
) -> None:
    await log_in(page, site, "canbo1", OFFICER_PASSWORD)
    await open_form(page, site)
    await fill_applicant(page, "Vũ Văn Khách", "001099000777")
    documents = page.locator("fieldset.document")
    for index in range(await documents.count()):
        await documents.nth(index).get_by_label("Chỉ nhận bản giấy (không số hóa)").check()
    await page.get_by_role("button", name="Tiếp tục: xác nhận").click()
    await expect(page.get_by_text("chưa có tài khoản")).to_be_visible()
    await page.get_by_role("button", name="Nộp và tiếp nhận hồ sơ").click()
    await expect(page.get_by_text("Đã thực hiện xong.")).to_be_visible()
    heading = await page.get_by_role("heading", level=1).text_content()
    assert heading is not None
    code = heading.removeprefix("Hồ sơ ").strip()
    await log_out(page)

    # Processed to the end: the result is the desk's to print, nobody's wallet.
    platform = site.platform
    specialist = await token(site, "chuyenvien1", OFFICER_PASSWORD)
    assert (await act(platform, code, "assign", specialist)).status_code == 200
    dossier = (await platform.client.get(f"/api/v1/dossiers/{code}", headers=specialist)).json()
    assert dossier["applicant_account"] is None
    result = await platform.client.post(
        "/api/v1/documents/results", headers=specialist,
        data={"dossier_code": code, "agency_code": dossier["agency_code"]},
        files={"file": ("giấy phép mới.pdf", PDF, "application/pdf")},
    )  # fmt: skip
    assert result.status_code == 201, result.text
    resolved = await act(platform, code, "resolve", specialist,
                         result_documents=[result.json()["id"]])  # fmt: skip
    assert resolved.status_code == 200, resolved.text
    desk = await token(site, "canbo1", OFFICER_PASSWORD)
    returned = await act(platform, code, "return", desk)
    assert returned.status_code == 200, returned.text
    assert returned.json()["status"] == "returned"
