"""The platform through the gateway: embedded (in-process) and distributed (sockets, PostgreSQL,
Redis, S3). Health of every service, routing, login and the token every service trusts."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest

from services import composition
from services.national_portal.config import NationalPortalSettings
from tests import platform as platforms

CENTRE = "000.00.15.H49"


@contextlib.asynccontextmanager
async def embedded(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with platforms.embedded(data_dir) as platform:
        yield platform.client


@pytest.fixture
def api(platform: platforms.Platform) -> httpx.AsyncClient:
    """The gateway of the platform, embedded and distributed (``conftest.platform``)."""
    return platform.client


async def login(api: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await api.post("/api/v1/auth/token", data={"username": username, "password": password})


class TestHealth:
    async def test_every_service_reports_ready(self, api: httpx.AsyncClient) -> None:
        response = await api.get("/api/v1/health")
        assert response.status_code == 200, response.text
        services = response.json()["services"]
        assert set(services) == {
            "gateway",
            "procedures",
            "intake",
            "tracking",
            "documents",
            "notifications",
            "national_portal",
        }
        assert all(s["status"] == "ok" for s in services.values())
        assert services["documents"]["checks"]["storage"] == "ok"

    async def test_distributed_services_also_check_redis(self, api: httpx.AsyncClient) -> None:
        services = (await api.get("/api/v1/health")).json()["services"]
        uses_redis = ["redis" in services[name]["checks"] for name in ("intake", "gateway")]
        assert uses_redis in ([True, True], [False, False])  # distributed: yes; embedded: no
        assert "redis" not in services["national_portal"]["checks"]  # outside the event flow


class TestDocuments:
    async def test_a_citizen_uploads_lists_and_downloads_through_the_gateway(
        self, api: httpx.AsyncClient
    ) -> None:
        token = (await login(api, "001099000001", "congdan-demo")).json()["access_token"]
        auth = {"authorization": f"Bearer {token}"}
        content = b"%PDF-1.4\n%%EOF\n" * 100
        created = await api.post(
            "/api/v1/documents",
            files={"file": ("Giấy chứng sinh.pdf", content, "application/pdf")},
            headers=auth,
        )
        assert created.status_code == 201, created.text
        wallet = (await api.get("/api/v1/documents", headers=auth)).json()
        assert [item["name"] for item in wallet] == ["Giấy chứng sinh.pdf"]
        link = await api.get(f"/api/v1/documents/{wallet[0]['id']}/download", headers=auth)
        url = link.json()["url"]
        if url.startswith("http://gw/"):  # embedded: the service's own signed URL
            downloaded = await api.get(url)
        else:  # distributed: the S3 server's presigned URL
            async with httpx.AsyncClient() as browser:
                downloaded = await browser.get(url)
        assert downloaded.content == content


class TestRouting:
    async def test_agencies_are_served_by_the_procedures_service(
        self, api: httpx.AsyncClient
    ) -> None:
        response = await api.get("/api/v1/agencies")
        assert response.status_code == 200
        codes = {a["code"] for a in response.json()}
        assert {"000.00.00.H49", CENTRE} <= codes
        one = await api.get(f"/api/v1/agencies/{CENTRE}")
        assert one.json()["name"] == "Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh"

    async def test_the_real_catalogue_is_searchable_through_the_gateway(
        self, api: httpx.AsyncClient
    ) -> None:
        response = await api.get("/api/v1/procedures", params={"q": "dang ky khai sinh"})
        assert response.status_code == 200
        assert response.json()["items"][0]["name"] == "Đăng ký khai sinh"
        fields = await api.get("/api/v1/fields")
        assert len(fields.json()) == 16

    async def test_a_service_s_problem_details_pass_through(self, api: httpx.AsyncClient) -> None:
        response = await api.get("/api/v1/agencies/000.99.99.H00")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == "Không có cơ quan mã 000.99.99.H00."

    async def test_unknown_routes_and_wrong_methods_are_problems(
        self, api: httpx.AsyncClient
    ) -> None:
        unknown = await api.get("/api/v1/nothing-here")
        assert (unknown.status_code, unknown.json()["title"]) == (404, "Không tìm thấy")
        wrong = await api.delete("/api/v1/health")
        assert wrong.status_code == 405
        bad_query = await api.get("/api/v1/agencies?level=district")
        assert bad_query.status_code == 422
        assert bad_query.json()["errors"][0]["parameter"] == "level"


class TestLogin:
    async def test_the_demo_officer_logs_in_and_the_token_names_the_agency(
        self, api: httpx.AsyncClient
    ) -> None:
        response = await login(api, "canbo1", "canbo-demo")
        assert response.status_code == 200
        token = response.json()["access_token"]
        me = await api.get("/api/v1/auth/me", headers={"authorization": f"Bearer {token}"})
        assert me.json()["role"] == "officer"
        assert me.json()["agencies"] == [{"agency_code": CENTRE, "position": "desk"}]

    async def test_citizens_log_in_with_their_identification_number(
        self, api: httpx.AsyncClient
    ) -> None:
        for citizen in ("001099000001", "001099000002"):
            assert (await login(api, citizen, "congdan-demo")).status_code == 200

    async def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(
        self, api: httpx.AsyncClient
    ) -> None:
        wrong = await login(api, "canbo1", "not-it")
        unknown = await login(api, "nobody", "not-it")
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() | {"instance": None} == unknown.json() | {"instance": None}
        assert wrong.headers["www-authenticate"] == "Bearer"

    async def test_a_login_form_without_a_password_is_a_422(self, api: httpx.AsyncClient) -> None:
        response = await api.post("/api/v1/auth/token", data={"username": "canbo1"})
        assert response.status_code == 422

    async def test_a_request_without_a_valid_token_is_a_401(self, api: httpx.AsyncClient) -> None:
        assert (await api.get("/api/v1/auth/me")).status_code == 401
        forged = await api.get("/api/v1/auth/me", headers={"authorization": "Bearer x.y.z"})
        assert forged.status_code == 401


async def test_the_embedded_platform_serves_the_portal_mock(tmp_path: Path) -> None:
    async with embedded(tmp_path) as client:
        response = await client.get(f"{composition.PORTAL_MOUNT}/readyz")
        assert response.json()["service"] == "national_portal"
        # Seeded with the catalogue: a dossier of one of its procedures is accepted.
        settings = NationalPortalSettings()
        token = await client.post(
            f"{composition.PORTAL_MOUNT}/api/token",
            json={"username": settings.client_id,
                  "password": settings.client_secret.get_secret_value()},
        )  # fmt: skip
        synced = await client.post(
            f"{composition.PORTAL_MOUNT}/api/DongBoHoSoMC",
            headers={"authorization": f"Bearer {token.json()['access_token']}"},
            json={"MaHoSo": f"{CENTRE}-261123-0001", "MaTTHC": "1.004873",
                  "TenTTHC": "Đăng ký khai sinh", "ChuHoSo": "Trần Thị Bình",
                  "KenhThucHien": 2, "TrangThaiHoSo": 1, "PhienBan": 1},
        )  # fmt: skip
        assert synced.json() == {"error_code": "00", "message": "Thành công"}


async def test_agencies_reach_tracking_by_events_and_deadlines_answer_through_the_gateway(
    tmp_path: Path,
) -> None:
    """procedures announces its agencies (outbox → bus → tracking's consumer); the deadline
    endpoint then knows them."""
    params: dict[str, str | int] = {"start": "2026-11-23T09:00:00+07:00", "working_days": 3}
    async with embedded(tmp_path) as client:
        with anyio.fail_after(10):
            while True:
                response = await client.get(f"/api/v1/calendars/{CENTRE}/deadline", params=params)
                if response.status_code == 200:
                    break
                assert response.status_code == 404  # not there yet
                await anyio.sleep(0.05)
        assert response.json()["due_at"] == "2026-11-26T09:00:00+07:00"
