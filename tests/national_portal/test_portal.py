"""The national portal mock: its token step, what it accepts and refuses, that a repeat
changes nothing, progress in order, the index's on-time share, and injected faults."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest

from services.national_portal.config import NationalPortalSettings
from services.national_portal.main import create_app, spec
from shared.auth import Principal, Role, TokenService
from shared.faults import ResponseDropped
from shared.migrations import upgrade
from tests.conftest import PgDatabase, distributed_platform, embedded_platform

CODE = "000.00.15.H49-261123-0001"


@pytest.fixture(params=["postgresql", "sqlite"])
async def settings(
    request: pytest.FixtureRequest, tmp_path: Path, pg_database: PgDatabase
) -> NationalPortalSettings:
    if request.param == "postgresql":
        return NationalPortalSettings(
            platform=distributed_platform(), database_url=await pg_database("national_portal")
        )
    settings = NationalPortalSettings(platform=embedded_platform(tmp_path))
    await anyio.to_thread.run_sync(upgrade, spec.migrations, settings.db_url)
    return settings


@contextlib.asynccontextmanager
async def portal(settings: NationalPortalSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://portal") as client,
    ):
        token = await client.post(
            "/api/token",
            json={"username": settings.client_id,
                  "password": settings.client_secret.get_secret_value()},
        )  # fmt: skip
        assert token.json()["error_code"] == "00"
        client.headers["authorization"] = f"Bearer {token.json()['access_token']}"
        answer = await client.put(
            "/api/admin/procedures", json=[{"MaTTHC": "1.004873", "TenTTHC": "Đăng ký khai sinh"}]
        )
        assert answer.json()["error_code"] == "00"
        yield client


@pytest.fixture
async def client(settings: NationalPortalSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with portal(settings) as client:
        yield client


def dossier(version: int = 1, status: int = 1, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "MaHoSo": CODE, "MaTTHC": "1.004873", "TenTTHC": "Đăng ký khai sinh",
        "MaLinhVuc": "G09", "ChuHoSo": "Trần Thị Bình", "KenhThucHien": 2,
        "TrangThaiHoSo": status, "PhienBan": version, "isUpdating": version > 1,
    }  # fmt: skip
    body.update(fields)
    return body


def step(at: str, status: int = 2, content: str = "Tiếp nhận hồ sơ") -> dict[str, Any]:
    return {"MaHoSo": CODE, "NguoiXuLy": "canbo1", "ThoiDiemXuLy": at,
            "NoiDungXuLy": content, "TrangThai": status}  # fmt: skip


async def report(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/admin/report")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_without_a_valid_token_nothing_is_accepted(client: httpx.AsyncClient) -> None:
    for authorization in ("", "Bearer x.y.z", "Basic b25lc3RvcA=="):
        response = await client.post(
            "/api/DongBoHoSoMC", json=dossier(), headers={"authorization": authorization}
        )
        assert response.status_code == 401
        assert response.json()["error_code"] == "01"
    wrong = await client.post("/api/token", json={"username": "onestop", "password": "x"})
    assert (wrong.status_code, wrong.json()["error_code"]) == (401, "01")
    assert (await report(client))["dossiers"] == 0


async def test_a_dossier_is_kept_once_at_its_newest_version(client: httpx.AsyncClient) -> None:
    first = await client.post("/api/DongBoHoSoMC", json=dossier())
    assert first.json() == {"error_code": "00", "message": "Thành công"}
    received = dossier(2, 2, NgayTiepNhan="20261123090000", NgayHenTra="20261130170000")
    for _ in range(2):  # a retry of the same version
        assert (await client.post("/api/DongBoHoSoMC", json=received)).json()["error_code"] == "00"
    stale = await client.post("/api/DongBoHoSoMC", json=dossier(1, 1, isUpdating=True))
    assert stale.json()["error_code"] == "00"  # older: accepted, changes nothing
    found = (await client.post("/api/TraCuuHoSo", json={"MaHoSo": CODE})).json()
    assert found["HoSo"]["TrangThaiHoSo"] == 2
    assert found["HoSo"]["NgayHenTra"] == "20261130170000"  # local time, as sent
    held = await report(client)
    assert (held["dossiers"], held["by_status"], held["upserts_received"]) == (1, {"2": 1}, 4)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (dossier(MaTTHC="9.999999"), "MaTTHC"),
        (dossier(status=11), "TrangThaiHoSo"),
        (dossier(status=9, NgayTiepNhan="20261123090000"), "NgayKetThucXuLy"),
        (dossier(status=2, NgayTiepNhan="2026-11-23"), "NgayTiepNhan"),
        (dossier(2, isUpdating=True), "cập nhật"),
    ],
)
async def test_what_breaks_the_rules_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, body: dict[str, Any], why: str
) -> None:
    response = await client.post("/api/DongBoHoSoMC", json=body)
    assert response.status_code in (400, 404)
    assert response.json()["error_code"] in ("02", "03")
    assert why in response.json()["message"]
    assert (await report(client))["dossiers"] == 0


async def test_a_dossier_withdrawn_before_receipt_needs_no_receipt_date(
    client: httpx.AsyncClient,
) -> None:
    for version, status in ((1, 1), (2, 7), (3, 8)):
        answer = await client.post("/api/DongBoHoSoMC", json=dossier(version, status))
        assert answer.json()["error_code"] == "00"
    assert (await report(client))["by_status"] == {"8": 1}


async def test_progress_is_kept_once_and_in_order(client: httpx.AsyncClient) -> None:
    missing = await client.post("/api/CapNhatTienDoHoSoMC", json=step("20261123090000"))
    assert (missing.status_code, missing.json()["error_code"]) == (404, "03")
    await client.post("/api/DongBoHoSoMC", json=dossier())
    for body in (step("20261123090000"), step("20261123090000"),
                 step("20261124100000", 4, "Chuyển xử lý")):  # fmt: skip
        assert (await client.post("/api/CapNhatTienDoHoSoMC", json=body)).json()[
            "error_code"
        ] == "00"
    earlier = await client.post("/api/CapNhatTienDoHoSoMC", json=step("20261123080000", 4, "x"))
    assert (earlier.status_code, earlier.json()["error_code"]) == (409, "04")
    found = (await client.post("/api/TraCuuHoSo", json={"MaHoSo": CODE})).json()
    assert [s["TrangThai"] for s in found["TienDo"]] == [2, 4]
    assert (await report(client))["progress_steps"] == 2


async def test_the_on_time_share_counts_finished_dossiers_by_their_promised_date(
    client: httpx.AsyncClient,
) -> None:
    dates = {"NgayTiepNhan": "20261123090000", "NgayHenTra": "20261130170000"}
    once, twice = [{"NoiDung": "Bổ sung giấy khai sinh"}], [{"NoiDung": "a"}, {"NoiDung": "b"}]
    finished = [("A", "20261130160000", once), ("B", "20261130170000", []),
                ("C", "20261201080000", []), ("D", "20261127080000", twice)]  # fmt: skip
    for suffix, end, supplements in finished:
        body = dossier(1, 10, **dates, NgayKetThucXuLy=end, NgayTra=end,
                       DanhSachHoSoBoSung=supplements)  # fmt: skip
        body["MaHoSo"] = CODE[:-1] + suffix
        assert (await client.post("/api/DongBoHoSoMC", json=body)).json()["error_code"] == "00"
    await client.post("/api/DongBoHoSoMC", json=dossier(1, 4, **dates))  # still open
    held = await report(client)
    # C finished after its date; D in time, but after a second supplement request.
    assert (held["finished"], held["finished_on_time"]) == (4, 2)
    assert held["on_time_share"] == pytest.approx(2 / 4)


def platform_admin(settings: NationalPortalSettings, role: Role = Role.ADMIN) -> dict[str, str]:
    """A token of the platform (not of the connected system) with ``role``."""
    principal = Principal(subject="admin", username="admin", role=role)
    return {
        "authorization": f"Bearer {TokenService.from_settings(settings.platform).issue(principal)}"
    }


async def test_injected_faults_fail_calls_and_a_dropped_answer_is_still_stored(
    client: httpx.AsyncClient, settings: NationalPortalSettings
) -> None:
    faults = {"fail_share": 1.0}
    # The faults are the platform admin's: the connected system's token is refused.
    assert (await client.put("/api/admin/faults", json=faults)).status_code == 401
    assert (await client.get("/api/admin/faults")).status_code == 401
    admin = platform_admin(settings)
    officer = platform_admin(settings, role=Role.OFFICER)
    assert (await client.put("/api/admin/faults", json=faults, headers=officer)).status_code == 403
    assert (await client.put("/api/admin/faults", json=faults, headers=admin)).status_code == 200
    failed = await client.post("/api/DongBoHoSoMC", json=dossier())
    assert failed.status_code == 500
    assert (await report(client))["dossiers"] == 0  # admin routes are never faulty
    await client.put("/api/admin/faults", json={"drop_share": 1.0}, headers=admin)
    with pytest.raises(ResponseDropped):
        await client.post("/api/DongBoHoSoMC", json=dossier())
    await client.put("/api/admin/faults", json={}, headers=admin)
    assert (await report(client))["dossiers"] == 1  # stored before the answer was lost
    again = await client.post("/api/DongBoHoSoMC", json=dossier())  # the sender retries
    assert again.json()["error_code"] == "00"
    assert (await report(client))["dossiers"] == 1


async def test_shares_of_faults_follow_the_settings(settings: NationalPortalSettings) -> None:
    faulty = settings.model_copy(
        update={"fail_share": 0.2, "timeout_share": 0.1, "timeout_seconds": 0.01, "fault_seed": 7}
    )
    async with portal(faulty) as client:
        statuses = [
            (await client.post("/api/TraCuuHoSo", json={"MaHoSo": CODE})).status_code
            for _ in range(200)
        ]
    assert 20 <= statuses.count(500) <= 60
    assert 5 <= statuses.count(504) <= 35
    assert statuses.count(404) == 200 - statuses.count(500) - statuses.count(504)


async def test_the_client_secret_cannot_be_guessed_at_speed(client: httpx.AsyncClient) -> None:
    wrong = {"username": "onestop", "password": "guess"}
    codes = [(await client.post("/api/token", json=wrong)).status_code for _ in range(11)]
    assert codes == [401] * 10 + [429]
