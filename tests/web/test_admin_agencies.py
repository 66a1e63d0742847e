"""The admins' agencies: a new agency by its code under its parent, its details edited,
and the procedures its desk offers, each refusal said at its field."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Page, expect

from tests.web.browser import check_page
from tests.web.conftest import Site, log_in

NEW = "000.00.30.H49"


async def test_an_admin_adds_an_agency_and_the_procedures_its_desk_offers(
    site: Site, page: Page, shots: Path
) -> None:
    api = site.platform.client
    await log_in(page, site, "admin", "admin-demo")
    await page.get_by_role("link", name="Cơ quan", exact=True).click()
    await check_page(page, shots, "co-quan")
    # A code that exists: refused at its field, nothing added.
    await page.get_by_label("Mã định danh").fill("000.00.15.H49")
    await page.get_by_label("Tên cơ quan").fill("Trùng mã")
    await page.get_by_role("button", name="Thêm cơ quan").click()
    await expect(page.get_by_role("alert")).to_contain_text("Đã có cơ quan mã 000.00.15.H49")
    await page.get_by_label("Mã định danh").fill(NEW)
    await page.get_by_label("Tên cơ quan").fill("Sở Văn hóa và Thể thao tỉnh Quảng Ninh")
    await page.get_by_label("Cơ quan cấp trên").select_option("000.00.00.H49")
    await page.get_by_role("button", name="Thêm cơ quan").click()
    await expect(page.get_by_text("Đã thêm cơ quan.")).to_be_visible()
    made = (await api.get(f"/api/v1/agencies/{NEW}")).json()
    assert (made["parent_code"], made["level"]) == ("000.00.00.H49", "province")

    # Its details edited.
    await page.get_by_label("Địa chỉ").fill("Phường Hồng Gai, Quảng Ninh")
    await page.get_by_role("button", name="Lưu thông tin").click()
    await expect(page.get_by_text("Đã lưu.", exact=True)).to_be_visible()
    assert (await api.get(f"/api/v1/agencies/{NEW}")).json()["address"] == (
        "Phường Hồng Gai, Quảng Ninh"
    )

    # The procedures its desk offers: an unknown code is refused, the others kept.
    await page.get_by_label("Thêm thủ tục theo mã, cách nhau bởi dấu cách").fill("TTHC-20 KHONG-CO")
    await page.get_by_role("button", name="Lưu danh sách thủ tục").click()
    await expect(page.locator("#loi-them")).to_contain_text("không tồn tại")
    assert (await api.get(f"/api/v1/agencies/{NEW}/procedures")).json() == []
    await page.get_by_label("Thêm thủ tục theo mã, cách nhau bởi dấu cách").fill("TTHC-20 TTHC-21")
    await page.get_by_role("button", name="Lưu danh sách thủ tục").click()
    await expect(page.get_by_text("Đã lưu danh sách thủ tục.")).to_be_visible()
    await expect(page.get_by_role("heading", level=2).last).to_have_text(
        "Thủ tục bộ phận một cửa tiếp nhận: 2"
    )
    await check_page(page, shots, "co-quan-moi")
    # One unticked: no longer offered.
    await page.get_by_role("checkbox", name=re.compile("TTHC-21")).uncheck()
    await page.get_by_role("button", name="Lưu danh sách thủ tục").click()
    await expect(page.get_by_text("Đã lưu danh sách thủ tục.")).to_be_visible()
    assert (await api.get(f"/api/v1/agencies/{NEW}/procedures")).json() == ["TTHC-20"]
    listed = await api.get("/api/v1/procedures", params={"agency": NEW})
    assert [p["code"] for p in listed.json()["items"]] == ["TTHC-20"]
