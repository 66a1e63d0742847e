"""What a citizen does on a dossier besides answering a supplement: pay what the desk
asks (the mock provider's flow) and ask to withdraw, in the browser."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from shared.auth import Position
from tests.intake.flow import act, submit
from tests.web.conftest import Site, log_in
from tests.web.test_citizen_journey import citizen_login


async def test_pay_then_ask_to_withdraw(site: Site, page: Page) -> None:
    platform = site.platform
    citizen = await citizen_login(site)
    code = (await submit(platform, citizen)).json()["code"]
    desk = platform.officer("desk-1", Position.DESK)
    specialist = platform.officer("spec-1", Position.SPECIALIST)
    assert (await act(platform, code, "receive", desk)).status_code == 200
    assert (await act(platform, code, "assign", specialist)).status_code == 200
    assert (await act(platform, code, "request-payment", specialist)).status_code == 200

    await log_in(page, site)
    await page.goto(site.url + f"/ho-so/{code}")
    await expect(
        page.get_by_role("heading", name="Cần thực hiện nghĩa vụ tài chính")
    ).to_be_visible()
    await expect(page.get_by_text("Số tiền: 135.000 đ.", exact=False)).to_be_visible()
    await page.get_by_role("button", name="Thanh toán trực tuyến 135.000 đ").click()
    await expect(page.get_by_text("Đang xử lý", exact=True)).to_be_visible()
    paid = await platform.client.get(f"/api/v1/dossiers/{code}", headers=citizen)
    assert paid.json()["status"] == "processing"

    # A reason too short is refused by the API and said on the page; nothing changes.
    await page.get_by_label("Lý do rút hồ sơ").fill("ab")
    await page.locator("form[action$='/rut']").evaluate("f => f.noValidate = true")
    await page.get_by_role("button", name="Gửi đề nghị rút hồ sơ").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    unchanged = await platform.client.get(f"/api/v1/dossiers/{code}", headers=citizen)
    assert unchanged.json()["status"] == "processing"
    await page.get_by_label("Lý do rút hồ sơ").fill("Tôi đã chuyển nơi cư trú.")
    await page.get_by_role("button", name="Gửi đề nghị rút hồ sơ").click()
    await expect(page.get_by_text("Công dân yêu cầu rút hồ sơ", exact=True)).to_be_visible()
    await expect(page.get_by_role("heading", name="Rút hồ sơ")).to_have_count(0)
    assert re.search(r"/ho-so/.+\?xong=request-withdrawal$", page.url)
