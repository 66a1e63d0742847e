"""The checks every page passes can fail: a page with the faults they look for."""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from tests.web.browser import axe_violations, keyboard_reaches_everything

FAULTY = """<!doctype html><html lang="vi"><head><title>Lỗi</title></head><body><main>
<h1>Trang có lỗi</h1><input id="no-label"><img src="data:,">
</main></body></html>"""
UNREACHABLE = """<!doctype html><html lang="vi"><head><title>Bàn phím</title>
<style>a:focus { outline: none; }</style></head><body><main>
<a href="#a">Một</a> <span role="button" onclick="1">Không tới được</span>
</main></body></html>"""


async def test_axe_reports_a_missing_label_and_text_alternative(page: Page) -> None:
    await page.set_content(FAULTY)
    found = {violation["id"] for violation in await axe_violations(page)}
    assert {"label", "image-alt"} <= found


async def test_the_keyboard_check_wants_a_visible_focus(page: Page) -> None:
    await page.set_content(UNREACHABLE)
    with pytest.raises(AssertionError, match="no visible focus"):
        await keyboard_reaches_everything(page)


async def test_the_keyboard_check_wants_every_control_reached(page: Page) -> None:
    await page.set_content(UNREACHABLE.replace("a:focus { outline: none; }", ""))
    await page.evaluate("document.querySelector('span').tabIndex = -1")
    await page.evaluate(
        "const b = document.createElement('button'); b.textContent = 'Ẩn khỏi Tab';"
        "b.tabIndex = 0; b.addEventListener('focus', () => b.blur()); document.body.append(b)"
    )
    with pytest.raises(AssertionError, match="never reaches"):
        await keyboard_reaches_everything(page)
