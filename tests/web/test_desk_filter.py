"""The queue's procedure filter on a desk offering more procedures than a list can hold:
the officer types a code, the first procedures are suggested; a code the address cannot
mean is dropped rather than refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from services.web.pages import desk
from tests.intake.flow import submit
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
