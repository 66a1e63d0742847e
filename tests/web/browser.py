"""The machine's Chromium, driven by Playwright, and what every page of a journey must
pass: axe-core with no serious or critical violation, the keyboard alone reaching every
control, and a screenshot at a desk's width and a phone's."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import anyio
from playwright.async_api import Page

CHROMIUM = "/usr/bin/chromium"
# No download, no update, no telemetry: the browser talks to the platform only.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
# Where the screenshots go: the test run's output folder.
SHOTS = Path(os.environ.get("ONESTOP_WEB_SHOTS", Path(__file__).parents[2] / ".web-shots"))
WIDTHS = {"desk": 1280, "phone": 375}


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now (WCAG 2.x
    A and AA rules and axe's best practices). axe is evaluated through the DevTools
    protocol, which the page's Content-Security-Policy does not govern."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE + "\n;0")
    results = await page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"
    )
    return [v for v in results if v["impact"] in ("serious", "critical")]


async def keyboard_reaches_everything(page: Page, *, limit: int = 400) -> None:
    """Tab from the top of the page to its end: every visible link, button and field is
    focused on the way, and each shows that it has the focus. A group of radio buttons
    is one stop (the arrow keys choose within it)."""
    wanted = set(
        await page.evaluate(
            """() => [...document.querySelectorAll(
                 'a[href], button, input:not([type=hidden]), select, textarea, [tabindex]')]
               .filter(e => e.tabIndex >= 0 && !e.disabled && e.getClientRects().length > 0
                       && getComputedStyle(e).visibility !== 'hidden')
               .map(e => e.type === 'radio' ? 'radio ' + e.name : e.outerHTML.slice(0, 200))"""
        )
    )
    await page.evaluate(
        "() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }"
    )
    reached: set[str] = set()
    left_the_page = 0  # Tab past the last control leaves the page; the next comes back
    for _ in range(limit):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(
            """() => { const e = document.activeElement;
                 if (!e || e === document.body) return null;
                 const style = getComputedStyle(e);
                 const outlined = style.outlineStyle !== 'none'
                   && parseFloat(style.outlineWidth) > 0;
                 const html = e.type === 'radio' ? 'radio ' + e.name : e.outerHTML.slice(0, 200);
                 return {html: html, visible: outlined}; }"""
        )
        if focused is None:
            left_the_page += 1
            if left_the_page > 2:
                break
            continue
        assert focused["visible"], f"no visible focus on {focused['html']}"
        reached.add(focused["html"])
        if reached >= wanted:
            break
    missing = wanted - reached
    assert not missing, f"the keyboard never reaches: {sorted(missing)[:5]}"


async def screenshots(page: Page, folder: Path, name: str) -> None:
    """The page at a desk's width and a phone's, full length; the viewport put back."""
    await anyio.Path(folder).mkdir(parents=True, exist_ok=True)
    size = page.viewport_size or {"width": WIDTHS["desk"], "height": 900}
    for label, width in WIDTHS.items():
        await page.set_viewport_size({"width": width, "height": 900})
        await page.screenshot(path=folder / f"{name}-{label}.png", full_page=True)
        # Nothing wider than the screen: a phone scrolls down, never sideways.
        wide = await page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"{name} is {wide} px wide at {width} px"
    await page.set_viewport_size(size)


async def check_page(page: Page, folder: Path, name: str) -> None:
    """What every page of a journey must pass; the screenshots whatever the outcome."""
    await screenshots(page, folder, name)
    violations = await axe_violations(page)
    assert not violations, f"axe on {name} ({page.url}): {violations}"
    await keyboard_reaches_everything(page)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
