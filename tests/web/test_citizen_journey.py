"""A citizen's whole journey in the browser: find the procedure, file a dossier with an
upload and a file from the wallet, answer a supplement request, get and rate the
result; the officers' side through the API. Every page on the way is checked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pypdfium2
import zxingcpp
from playwright.async_api import Browser, Page, expect

from shared.auth import Position
from tests.intake.flow import PDF, act
from tests.platform import CENTRE
from tests.web.browser import check_page, screenshots
from tests.web.conftest import CITIZEN, PASSWORD, Site, log_in

LICENCE = "TTHC-20"  # Đổi giấy phép lái xe: 5 working days, fully online
centre_name = "Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh"


async def citizen_login(site: Site) -> dict[str, str]:
    """The demo citizen's own token (their wallet is their account's)."""
    answer = await site.platform.client.post(
        "/api/v1/auth/token", data={"username": CITIZEN, "password": PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    return {"authorization": f"Bearer {answer.json()['access_token']}"}


async def dossiers_of(site: Site, citizen: dict[str, str]) -> list[dict[str, Any]]:
    listed = await site.platform.client.get("/api/v1/dossiers", headers=citizen)
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


def qr_of(pdf: bytes) -> str:
    """The text of the QR code printed on a slip, read off the rendered page."""
    document = pypdfium2.PdfDocument(pdf)
    image = document[0].render(scale=4).to_pil()
    [code] = zxingcpp.read_barcodes(image)
    return str(code.text)


async def test_a_citizen_files_follows_and_rates_a_dossier(
    site: Site, page: Page, shots: Path
) -> None:
    citizen = await citizen_login(site)
    me = (await site.platform.client.get("/api/v1/auth/me", headers=citizen)).json()
    # A file already in the wallet, of the kind the procedure asks for first.
    kept = await site.platform.client.post(
        "/api/v1/documents", headers=citizen,
        files={"file": ("giấy phép cũ.pdf", PDF, "application/pdf")},
        data={"kind": "giay-phep-lai-xe-cu-ban-chinh-ban-sao"},
    )  # fmt: skip
    assert kept.status_code == 201, kept.text
    before = len(await dossiers_of(site, citizen))

    await page.goto(site.url + "/?q=doi+giay+phep+lai+xe")
    await page.get_by_role("link", name=re.compile("^Đổi giấy phép lái xe")).click()
    await page.get_by_role("link", name="Nộp hồ sơ trực tuyến").click()
    await expect(page).to_have_url(re.compile(r"/dang-nhap\?next=/thu-tuc/TTHC-20/nop-ho-so"))
    await page.get_by_label(re.compile("Số định danh cá nhân")).fill(CITIZEN)
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Nộp hồ sơ trực tuyến")

    # The browser says what is wrong beside the field, before anything is sent.
    await page.get_by_label(re.compile("^Họ, chữ đệm và tên")).fill("Trần Thị Bình")
    number = page.get_by_label(re.compile("^Số định danh cá nhân"))
    await number.fill("12345")
    await page.get_by_role("button", name="Tiếp tục: xem lại").click()
    await expect(page.locator("#loi-f-applicant-id_number")).to_have_text("Không đúng định dạng.")
    await expect(number).to_have_attribute("aria-invalid", "true")
    await check_page(page, shots, "nop-ho-so")

    await number.fill(CITIZEN)
    await page.get_by_label(re.compile("^Địa chỉ liên hệ")).fill("Phường Hồng Gai, Quảng Ninh")
    await page.get_by_label(re.compile("^Số giấy phép lái xe")).fill("220123456789")
    await page.get_by_label(re.compile("^Hạng")).fill("B")
    await page.get_by_label(re.compile("^Bộ phận Một cửa tiếp nhận")).select_option(CENTRE)
    uploads = page.locator("input[type=file]")
    for index in range(await uploads.count()):
        group = page.locator("fieldset.document").nth(index)
        wallet = group.get_by_label("Hoặc chọn từ kho giấy tờ")
        if "Giấy phép lái xe cũ" in await group.locator("legend").inner_text():
            # The wallet's file of this kind is offered first.
            first = wallet.locator("option").nth(1)
            await expect(first).to_contain_text("giấy phép cũ.pdf")
            await wallet.select_option(kept.json()["id"])
        else:
            await uploads.nth(index).set_input_files(
                {"name": f"giấy tờ {index}.pdf", "mimeType": "application/pdf", "buffer": PDF}
            )
    await page.get_by_role("button", name="Tiếp tục: xem lại").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Xem lại hồ sơ trước khi nộp")
    await expect(page.get_by_text("giấy phép cũ.pdf")).to_be_visible()
    await check_page(page, shots, "xem-lai")
    # A double click files it once.
    await page.get_by_role("button", name="Nộp hồ sơ").dblclick()
    await expect(page.get_by_text("Đã nộp hồ sơ thành công.")).to_be_visible()
    code = (await page.get_by_role("heading", level=1).inner_text()).removeprefix("Hồ sơ ")
    assert re.fullmatch(rf"{re.escape(CENTRE)}-\d{{6}}-\d{{4}}", code)
    assert len(await dossiers_of(site, citizen)) == before + 1
    await check_page(page, shots, "ho-so-moi")

    # The desk receives it; the specialist asks for one thing more (through the API).
    platform = site.platform
    desk = platform.officer("desk-1", Position.DESK)
    specialist = platform.officer("spec-1", Position.SPECIALIST)
    assert (await act(platform, code, "receive", desk)).status_code == 200
    assert (await act(platform, code, "assign", specialist)).status_code == 200
    asked = await act(platform, code, "request-supplement", specialist,
                      missing=["Giấy khám sức khỏe còn hiệu lực"])  # fmt: skip
    assert asked.status_code == 200, asked.text

    # The specialist opens the dossier and one of its documents: the citizen will see it.
    opened = await platform.client.get(f"/api/v1/dossiers/{code}", headers=specialist)
    first = opened.json()["documents"][0]["id"]
    taken = await platform.client.get(f"/api/v1/documents/{first}/download", headers=specialist)
    assert taken.status_code == 200, taken.text

    await page.goto(site.url + f"/ho-so/{code}")
    await expect(page.get_by_role("heading", name="Cần bổ sung hồ sơ")).to_be_visible()
    centre = centre_name
    timeline = page.locator("section", has=page.get_by_role("heading", name="Quá trình giải quyết"))
    await expect(timeline.get_by_role("listitem").last).to_contain_text(
        f"Yêu cầu bổ sung → Yêu cầu bổ sung Chuyên viên xử lý, {centre}"
    )
    who = page.locator("section", has=page.get_by_role("heading", name="Ai đã mở hồ sơ của tôi"))
    await expect(who).to_contain_text(f"Chuyên viên xử lý, {centre}: Mở hồ sơ")
    await expect(who).to_contain_text(f"Chuyên viên xử lý, {centre}: Tải giấy tờ")
    await expect(page.get_by_role("heading", name="Ngày hẹn trả kết quả được tính thế nào")
                 ).to_be_visible()  # fmt: skip
    await expect(page.get_by_text("1. Giấy khám sức khỏe còn hiệu lực")).to_be_visible()
    await check_page(page, shots, "bo-sung")
    await page.locator("#tep_0").set_input_files(
        {"name": "giấy khám sức khỏe.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    await page.get_by_role("button", name="Gửi bổ sung").click()
    await expect(page.get_by_text("Đang xử lý", exact=True)).to_be_visible()

    # The receipt slip's QR code opens the public lookup of this dossier.
    slip = await page.request.get(site.url + f"/ho-so/{code}/phieu/receipt")
    assert slip.headers["content-type"] == "application/pdf"
    target = qr_of(await slip.body())
    assert target.endswith(f"/tra-cuu/{code}")
    await page.goto(site.url + target[target.index("/tra-cuu/") :])
    await expect(page.get_by_role("heading", name=f"Hồ sơ {code}")).to_be_visible()

    # Resolved with a result for the citizen, and returned.
    result = await platform.client.post(
        "/api/v1/documents/results",
        data={"owner": me["id"], "dossier_code": code, "agency_code": CENTRE},
        files={"file": ("giấy phép lái xe mới.pdf", PDF, "application/pdf")},
        headers=specialist,
    )
    assert result.status_code == 201, result.text
    resolved = await act(platform, code, "resolve", specialist,
                         result_documents=[result.json()["id"]])  # fmt: skip
    assert resolved.status_code == 200, resolved.text
    assert (await act(platform, code, "return", desk)).status_code == 200

    await page.goto(site.url + f"/ho-so/{code}")
    await expect(page.get_by_text("Đã trả kết quả", exact=True)).to_be_visible()
    await expect(page.locator(".timeliness")).to_have_text(re.compile("^(Trước hạn|Đúng hạn)$"))
    link = page.get_by_role("link", name=re.compile("^Tải về"))
    downloaded = await page.request.get(site.url + str(await link.get_attribute("href")))
    assert downloaded.ok
    assert await downloaded.body() == PDF
    assert downloaded.headers["content-disposition"].startswith("attachment")
    # "Xem" shows the PDF in the browser, as what its bytes say it is and nothing more.
    view = page.get_by_role("link", name=re.compile("^Xem "))
    viewed = await page.request.get(site.url + str(await view.get_attribute("href")))
    assert (viewed.ok, await viewed.body()) == (True, PDF)
    assert viewed.headers["content-disposition"].startswith("inline")
    assert viewed.headers["content-type"] == "application/pdf"
    assert viewed.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in viewed.headers["content-security-policy"]
    await check_page(page, shots, "ket-qua")
    await page.get_by_label("Hài lòng (4/5)").check()
    await page.get_by_label("Góp ý (không bắt buộc)").fill("Nhanh, không phải đi lại.")
    await page.get_by_role("button", name="Gửi đánh giá").click()
    await expect(page.get_by_text("Bạn đã đánh giá: Hài lòng (4/5)")).to_be_visible()
    shown = await platform.client.get(f"/api/v1/dossiers/{code}", headers=citizen)
    assert shown.json()["rating"]["score"] == 4

    # The wallet: the file reused from it names the dossier it served.
    await page.get_by_role("link", name="Kho giấy tờ").click()
    reused = page.get_by_role("row").filter(has_text="giấy phép cũ.pdf")
    await expect(reused.get_by_role("link", name=code)).to_be_visible()
    await expect(
        page.get_by_role("row").filter(has_text="giấy phép lái xe mới.pdf")
    ).to_contain_text("Kết quả do Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh cấp")
    await check_page(page, shots, "kho-giay-to")

    # The public statistics count it: the centre's month, on time.
    await page.goto(site.url + "/thong-ke")
    stat = page.locator("section.stat", has=page.get_by_role("heading", name=centre_name))
    await expect(stat.get_by_role("img")).to_be_visible()  # the chart, beside its table
    await expect(stat.get_by_role("row").nth(1)).to_contain_text("100.00%")
    await check_page(page, shots, "thong-ke")


async def test_without_script_the_server_says_what_is_wrong_and_keeps_what_was_typed(
    site: Site, browser: Browser, shots: Path
) -> None:
    context = await browser.new_context(java_script_enabled=False, locale="vi-VN")
    try:
        page = await context.new_page()
        await log_in(page, site)
        await page.goto(site.url + f"/thu-tuc/{LICENCE}/nop-ho-so")
        await page.get_by_label(re.compile("^Họ, chữ đệm và tên")).fill("Trần Thị Bình")
        await page.get_by_label(re.compile("^Số định danh cá nhân")).fill("12345")
        await page.get_by_role("button", name="Tiếp tục: xem lại").click()
        await expect(page.get_by_role("alert")).to_contain_text("chỗ cần sửa")
        await expect(page.locator("#loi-f-applicant-id_number")).to_have_text(
            "Không đúng định dạng."
        )
        await expect(page.locator("#loi-f-licence_number")).to_have_text("Trường này là bắt buộc.")
        await expect(page.locator("#loi-agency")).to_have_text("Hãy chọn nơi nộp hồ sơ.")
        await expect(page.get_by_label(re.compile("^Họ, chữ đệm và tên"))).to_have_value(
            "Trần Thị Bình"
        )
        await expect(page.get_by_label(re.compile("^Số định danh cá nhân"))).to_have_value("12345")
        await screenshots(page, shots, "loi-khong-script")
    finally:
        await context.close()
