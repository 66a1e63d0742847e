"""``onestop run`` as a user starts it: a subprocess, a port, a data folder."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.infra import free_port
from tests.onestop import onestop_run

pytestmark = pytest.mark.slow


def test_the_platform_starts_answers_and_keeps_its_data_across_restarts(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    with onestop_run(data_dir, port) as (url, log):
        health = httpx.get(f"{url}/api/v1/health").json()
        assert health["status"] == "ok"
        assert len(health["services"]) == 7
        banner = log.read_text()
        # Before the banner, no line per migration applied (alembic's are quieted).
        assert "Running upgrade" not in banner
        assert f"Một cửa đang chạy: {url}" in banner
        assert "canbo1" in banner
        assert "canbo-demo" in banner
        assert f"Trang web:    {url}/" in banner
        assert f"Cán bộ:       {url}/can-bo" in banner
        desk = httpx.get(f"{url}/can-bo")  # the officers' desk asks for a login first
        assert desk.status_code == 303
        assert desk.headers["location"] == "/dang-nhap?next=/can-bo"
        # It opens on the citizens' home page, with the demo catalogue.
        home = httpx.get(f"{url}/")
        assert home.status_code == 200
        assert home.headers["content-type"].startswith("text/html")
        assert "Tìm thủ tục hành chính" in home.text
        assert "33 thủ tục" in home.text
        token = httpx.post(
            f"{url}/api/v1/auth/token", data={"username": "admin", "password": "admin-demo"}
        )
        assert token.status_code == 200
        # What runs the platform is not announced; a token is kept by no cache.
        assert "server" not in token.headers
        assert token.headers["cache-control"] == "no-store"
        assert token.headers["x-content-type-options"] == "nosniff"
        citizen = httpx.post(
            f"{url}/api/v1/auth/token",
            data={"username": "001099000002", "password": "congdan-demo"},
            headers={"x-request-id": "e2e-login"},
        )
        assert citizen.headers["x-request-id"] == "e2e-login"
        json_lines = [line for line in log.read_text().splitlines() if line.startswith("{")]
        access = [line for line in json_lines if '"onestop.access"' in line]
        assert any('"request_id": "e2e-login"' in line for line in access)
        # Personal data and secrets never reach the logs (the banner is not a log line).
        assert not [line for line in json_lines if "001099000002" in line or "-demo" in line]

    assert (data_dir / "gateway.db").exists()
    with onestop_run(data_dir, port) as (url, log):
        # Not seeded again, yet the accounts made the first time still log in.
        assert "Running upgrade" not in log.read_text()
        again = httpx.post(
            f"{url}/api/v1/auth/token",
            data={"username": "001099000001", "password": "congdan-demo"},
        )
        assert again.status_code == 200
        agencies = httpx.get(f"{url}/api/v1/agencies").json()
        assert len(agencies) == 11  # not duplicated
