"""Security headers, seen from outside: types declared final, pages not framed, tokens
not cached. (The Server header is checked on a real socket in tests/e2e.)"""

from __future__ import annotations

from pathlib import Path

from tests.platform import embedded


async def test_every_answer_declares_its_type_and_pages_cannot_be_framed(tmp_path: Path) -> None:
    async with embedded(tmp_path) as platform:
        api = await platform.client.get("/api/v1/procedures/TTHC-20")
        missing = await platform.client.get("/api/v1/procedures/NO-SUCH")
        for answer in (api, missing):
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert "x-frame-options" not in answer.headers  # JSON, not a page
        started = await platform.client.get("/api/v1/auth/vneid")
        provider_page = await platform.client.get(started.headers["location"])
        docs = await platform.client.get("/docs")
        for page in (docs, provider_page):
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            assert page.headers["x-frame-options"] == "DENY"
            assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
            assert page.headers["x-content-type-options"] == "nosniff"
        assert len(api.headers.get_list("x-content-type-options")) == 1  # not twice


async def test_token_answers_are_kept_by_no_cache(tmp_path: Path) -> None:
    async with embedded(tmp_path) as platform:
        login = await platform.client.post(
            "/api/v1/auth/token", data={"username": "001099000001", "password": "congdan-demo"}
        )
        refreshed = await platform.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}
        )
        for answer in (login, refreshed):
            assert answer.status_code == 200
            assert answer.headers["cache-control"] == "no-store"
            assert answer.headers["pragma"] == "no-cache"
