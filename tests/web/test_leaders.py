"""A leader's dashboard: the agency's on-time rates as charts with their tables, the
overdue dossiers and the 766 index with its formulas, from the platform's numbers."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect

from shared.auth import Position
from tests.intake.flow import PDF, act, submit
from tests.platform import CENTRE
from tests.web.browser import check_page
from tests.web.conftest import CITIZEN, PASSWORD, Site, log_in
from tests.web.test_desk_journey import OFFICER_PASSWORD, token


async def test_a_leader_sees_the_agencys_rates_overdue_dossiers_and_index(
    site: Site, page: Page, shots: Path
) -> None:
    platform = site.platform
    citizen = await token(site, CITIZEN, PASSWORD)
    desk = platform.officer("desk-1", Position.DESK)
    specialist_id = await platform.officer_id()
    specialist = platform.officer(specialist_id, Position.SPECIALIST)
    code = (await submit(platform, citizen)).json()["code"]
    owner = (await platform.client.get("/api/v1/auth/me", headers=citizen)).json()["id"]
    for action, body in (("receive", {}), ("assign", {"assignee": specialist_id})):
        assert (await act(platform, code, action, desk, **body)).status_code == 200
    result = await platform.client.post(
        "/api/v1/documents/results", headers=specialist,
        data={"dossier_code": code, "agency_code": CENTRE, "owner": owner},
        files={"file": ("kết quả.pdf", PDF, "application/pdf")},
    )  # fmt: skip
    assert result.status_code == 201, result.text
    resolved = await act(platform, code, "resolve", specialist,
                         result_documents=[result.json()["id"]])  # fmt: skip
    assert resolved.status_code == 200, resolved.text
    assert (await act(platform, code, "return", desk)).status_code == 200

    await log_in(page, site, "lanhdao1", OFFICER_PASSWORD)
    await page.get_by_role("link", name="Bảng điều hành").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Bảng điều hành")
    procedures = page.locator(
        "section", has=page.get_by_role("heading", name="Tỷ lệ đúng hạn theo thủ tục")
    )
    await expect(procedures.get_by_role("img")).to_be_visible()
    row = procedures.get_by_role("row").filter(has_text="Đổi giấy phép lái xe")
    await expect(row).to_contain_text("100.00%")
    months = page.locator(
        "section", has=page.get_by_role("heading", name="Tỷ lệ đúng hạn theo tháng")
    )
    await expect(months.get_by_role("img")).to_be_visible()
    officers = page.locator("section", has=page.get_by_role("heading", name="Việc của từng cán bộ"))
    await expect(officers.get_by_role("row").filter(has_text="Phạm Thị Dung")).to_contain_text(
        "Chuyên viên xử lý"
    )
    index = page.locator("section", has=page.get_by_role("heading", name="Bộ chỉ số chất lượng"))
    await expect(index.get_by_role("row").nth(1)).to_be_visible()
    await check_page(page, shots, "bang-dieu-hanh")
    # Not a leader: the desk officer is refused the dashboard.
    await page.get_by_role("button", name="Đăng xuất (lanhdao1)").click()
    await log_in(page, site, "canbo1", OFFICER_PASSWORD)
    response = await page.goto(site.url + "/lanh-dao")
    assert response is not None
    assert response.status == 403
