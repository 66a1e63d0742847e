"""The admins' catalogue: a draft started from the version in force, edited, checked with
each problem shown at its field, published with its effective date; a procedure
withdrawn after a confirmation."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.async_api import Page, expect

from tests.web.browser import check_page
from tests.web.conftest import Site, log_in

LICENCE = "TTHC-20"
VEHICLE = "TTHC-21"


async def test_an_admin_edits_checks_and_publishes_a_draft(
    site: Site, page: Page, shots: Path
) -> None:
    api = site.platform.client
    before = (await api.get(f"/api/v1/procedures/{LICENCE}")).json()
    await log_in(page, site, "admin", "admin-demo")
    await page.get_by_role("link", name="Thủ tục", exact=True).last.click()
    await page.get_by_label("Tìm theo tên hoặc mã").fill("giấy phép lái xe")
    await page.get_by_role("button", name="Tìm").click()
    await page.get_by_role("link", name=LICENCE, exact=True).click()
    await check_page(page, shots, "thu-tuc")
    await page.get_by_role("button", name="Tạo bản nháp từ phiên bản đang áp dụng").click()
    await expect(page.get_by_text("Đã tạo bản nháp")).to_be_visible()
    version = before["version"] + 1

    # Not JSON at all: said at the e-form's field, and nothing saved.
    schema = page.get_by_label("Tờ khai điện tử (JSON Schema)")
    await schema.fill("{không phải json")
    await page.get_by_role("button", name="Lưu bản nháp").click()
    await expect(page.locator("#loi-eform_schema")).to_contain_text("Không phải JSON hợp lệ")
    await expect(schema).to_have_attribute("aria-invalid", "true")
    # A schema that is JSON but not a JSON Schema, and a repeated document: saved (a draft
    # may be incomplete), and the check shows each problem at its own field.
    broken = {**before["eform_schema"], "properties": {"licence_number": {"type": "số"}}}
    await page.get_by_label("Tờ khai điện tử (JSON Schema)").fill(json.dumps(broken))
    first_document = before["required_documents"][0]["name"]
    await page.get_by_label("Thêm thành phần").fill(first_document)
    await page.get_by_role("button", name="Lưu bản nháp").click()
    await expect(page.get_by_text("Đã lưu bản nháp.")).to_be_visible()
    await page.get_by_role("button", name="Kiểm tra").click()
    await expect(page.locator("#loi-eform_schema")).to_contain_text("JSON Schema")
    await expect(page.locator("#loi-eform_schema")).not_to_contain_text("is not valid")
    row = len(before["required_documents"])
    await expect(page.locator(f"#loi-required_documents-{row}")).to_have_text(
        "Thành phần hồ sơ bị lặp."
    )
    await check_page(page, shots, "thu-tuc-loi")
    # Publishing checks it again, and refuses.
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()
    await page.get_by_label("Ngày có hiệu lực").fill(today)
    await page.get_by_role("button", name=f"Công bố phiên bản {version}").click()
    await expect(page.get_by_role("alert").first).to_contain_text("chưa đủ điều kiện")
    assert (await api.get(f"/api/v1/procedures/{LICENCE}")).json()["version"] == before["version"]

    # Fixed and renamed, then published.
    await page.get_by_label("Tờ khai điện tử (JSON Schema)").fill(
        json.dumps(before["eform_schema"])
    )
    await page.get_by_label(f"Thành phần {row + 1}", exact=True).fill("")
    await page.get_by_label("Tên thủ tục").fill(before["name"] + " (mẫu tờ khai mới)")
    await page.get_by_role("button", name="Lưu bản nháp").click()
    await page.get_by_role("button", name="Kiểm tra").click()
    await expect(page.get_by_text("Bản nháp đủ điều kiện công bố.")).to_be_visible()
    await page.get_by_label("Ngày có hiệu lực").fill(today)
    await page.get_by_role("button", name=f"Công bố phiên bản {version}").click()
    await expect(page.get_by_text("Đã công bố.")).to_be_visible()
    after = (await api.get(f"/api/v1/procedures/{LICENCE}")).json()
    assert (after["version"], after["name"]) == (version, before["name"] + " (mẫu tờ khai mới)")
    assert after["required_documents"] == before["required_documents"]
    assert after["effective_date"] == today


async def test_an_admin_withdraws_a_procedure_after_confirming(
    site: Site, page: Page, shots: Path
) -> None:
    api = site.platform.client
    assert (await api.get(f"/api/v1/procedures/{VEHICLE}")).status_code == 200
    await log_in(page, site, "admin", "admin-demo")
    await page.goto(site.url + f"/quan-tri/thu-tuc/{VEHICLE}")
    await page.get_by_role("button", name="Ngừng cung cấp…").click()
    await expect(page.get_by_role("alert")).to_contain_text("không nộp được hồ sơ mới")
    assert (await api.get(f"/api/v1/procedures/{VEHICLE}")).status_code == 200  # not yet
    await check_page(page, shots, "ngung-thu-tuc")
    await page.get_by_role("button", name="Xác nhận ngừng cung cấp").click()
    await expect(page.get_by_text("Đã ngừng cung cấp thủ tục.")).to_be_visible()
    assert (await api.get(f"/api/v1/procedures/{VEHICLE}")).status_code == 404
    # Still reachable by its code, to start it again from a draft.
    await page.goto(site.url + "/quan-tri/thu-tuc")
    await page.get_by_role("textbox", name=re.compile("^Mở thủ tục theo mã")).fill(VEHICLE)
    await page.get_by_role("button", name="Mở").click()
    await expect(page.get_by_text("không được công bố")).to_be_visible()
    await page.get_by_role("button", name="Tạo bản nháp từ phiên bản đã công bố gần nhất").click()
    await expect(page.get_by_text("Đã tạo bản nháp")).to_be_visible()
    await expect(page.get_by_role("row").filter(has_text="Bản nháp")).to_have_count(1)
