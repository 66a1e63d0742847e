"""A platform served on a socket for a real browser (the machine's Chromium)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.infra import free_port
from tests.platform import Platform, embedded
from tests.servers import serving
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, slug

pytestmark = pytest.mark.slow

CITIZEN = "001099000001"  # a demo citizen (services/gateway/seed.py)
PASSWORD = "congdan-demo"


@dataclass
class Site:
    url: str
    platform: Platform  # the same platform, called in-process (a test's own API calls)


@pytest.fixture(scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    data_dir = tmp_path_factory.mktemp("web")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    async with contextlib.AsyncExitStack() as stack:
        with pytest.MonkeyPatch.context() as environment:
            # Every browser of the tests comes from 127.0.0.1: more logins and lookups a
            # minute than one address is allowed (tests/gateway tests the limits).
            environment.setenv("GATEWAY_RATE_LOGIN_BURST", "1000")
            environment.setenv("GATEWAY_RATE_LOOKUP_BURST", "1000")
            platform = await stack.enter_async_context(embedded(data_dir, public_url=url))
        served = await stack.enter_async_context(serving(platform.entry, lifespan="off", port=port))
        yield Site(served, platform)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (no cookies), in Vietnam, at a desk's width."""
    opened = await browser.new_context(
        locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", viewport={"width": 1280, "height": 900}
    )
    opened.set_default_timeout(15_000)
    yield opened
    await opened.close()


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    """A tab; the test fails if the page's Content-Security-Policy refused anything."""
    opened = await context.new_page()
    refused: list[str] = []
    opened.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield opened
    assert not refused, refused


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    """This test's folder of screenshots."""
    return SHOTS / slug(request.node.name)


async def log_in(page: Page, site: Site, username: str = CITIZEN, password: str = PASSWORD) -> None:
    await page.goto(site.url + "/dang-nhap")
    await page.get_by_label("Số định danh cá nhân (công dân) hoặc tên đăng nhập (cán bộ)").fill(
        username
    )
    await page.get_by_label("Mật khẩu").fill(password)
    await page.get_by_role("button", name="Đăng nhập", exact=True).click()
