"""The queue's lists kept a minute, where they would mislead: the procedure filter on a
desk offering more procedures than a list can hold (the officer types a code, the first
procedures suggested; a code the address cannot mean is dropped rather than refused),
and the name of an officer made within the minute."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from services.web.pages import desk
from tests.intake.flow import act, submit
from tests.web.browser import check_page
from tests.web.conftest import CITIZEN, PASSWORD, Site, log_in
from tests.web.test_desk_journey import OFFICER_PASSWORD, token


async def test_a_desk_offering_many_procedures_filters_by_a_typed_code(
    site: Site, page: Page, shots: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The centre offers 14 procedures in the demo; a list of 5 stands for a hundred.
    monkeypatch.setattr(desk, "FILTER_CHOICES", 5)
    citizen = await token(site, CITIZEN, PASSWORD)
    code = (await submit(site.platform, citizen)).json()["code"]  # TTHC-20
    await log_in(page, site, "canbo1", OFFICER_PASSWORD)
    field = page.get_by_role("combobox", name="Thủ tục")
    await expect(field).to_have_attribute("list", "thu-tuc-goi-y")
    await expect(page.locator("#thu-tuc-goi-y option")).to_have_count(5)
    await check_page(page, shots, "loc-thu-tuc")
    await field.fill("TTHC-20")
    await page.get_by_role("button", name="Lọc").click()
    await expect(page).to_have_url(re.compile(r"thu-tuc=TTHC-20"))
    await expect(page.get_by_role("row").filter(has_text=code)).to_have_count(1)
    await field.fill("TTHC-01")  # a procedure of the commune, none of these dossiers
    await page.get_by_role("button", name="Lọc").click()
    await expect(page.get_by_role("row").filter(has_text=code)).to_have_count(0)
    # Typed with a space or a letter the codes never have: dropped, the whole queue shown.
    response = await page.goto(site.url + "/can-bo?thu-tuc=th%E1%BB%A7+t%E1%BB%A5c")
    assert response is not None
    assert response.status == 200
    await expect(page.get_by_role("row").filter(has_text=code)).to_have_count(1)


async def test_a_dossier_given_to_an_officer_made_a_moment_ago_shows_their_name(
    site: Site, page: Page
) -> None:
    """The queue keeps the agency's officers' names a minute; a dossier held by someone
    the kept names do not know yet reads them afresh instead of saying "Cán bộ khác"."""
    api = site.platform.client
    citizen = await token(site, CITIZEN, PASSWORD)
    code = (await submit(site.platform, citizen)).json()["code"]
    await log_in(page, site, "canbo1", OFFICER_PASSWORD)  # the queue keeps the names now
    admin = await token(site, "admin", "admin-demo")
    made = await api.post("/api/v1/admin/officers", headers=admin, json={
        "username": "chuyenvien.moi", "full_name": "Đinh Thị Mới",
        "memberships": [{"agency_code": "000.00.15.H49", "position": "specialist"}],
    })  # fmt: skip
    assert made.status_code == 201, made.text
    desk_token = await token(site, "canbo1", OFFICER_PASSWORD)
    assert (await act(site.platform, code, "receive", desk_token)).status_code == 200
    given = await act(site.platform, code, "assign", desk_token,
                      assignee=made.json()["officer"]["id"])  # fmt: skip
    assert given.status_code == 200, given.text
    await page.reload()
    await expect(page.get_by_role("row").filter(has_text=code)).to_contain_text("Đinh Thị Mới")
