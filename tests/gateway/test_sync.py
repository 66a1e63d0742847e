"""The sync to the national portal, end to end: embedded (SQLite, in-process events) and
distributed (PostgreSQL, Redis Streams, each service on a socket), with the portal mock
failing, timing out and dropping answers; dead letters; reconciliation."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import delete, func, select
from typer.testing import CliRunner

from services import cli
from services.gateway import sync
from services.national_portal.models import PortalDossier, PortalProcedure, PortalProgress
from shared.auth import Position
from shared.db import Database
from shared.runtime import Runtime
from tests.intake.flow import PDF, act, submit
from tests.platform import CENTRE, Platform, embedded, eventually

T = TypeVar("T")
FAULTS = {"fail_share": 0.2, "timeout_share": 0.05, "drop_share": 0.05}


@pytest.fixture(autouse=True)
def quick_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short waits: the mock's time-out holds 1.2 s, the sync gives up after 1 s and
    backs off from 20 ms to at most 0.3 s. (Given up after 0.2 s, a call the mock
    answered at once timed out too on a machine busy with the parallel tests: the
    platform and the mock share one event loop here.)"""
    for name, value in {
        "PORTAL_TIMEOUT_SECONDS": "1.2",
        "GATEWAY_PORTAL_TIMEOUT_SECONDS": "1.0",
        "GATEWAY_PORTAL_SYNC_POLL_SECONDS": "0.05",
        "GATEWAY_PORTAL_RETRY_BASE_SECONDS": "0.02",
        "GATEWAY_PORTAL_RETRY_CAP_SECONDS": "0.3",
        "GATEWAY_PORTAL_RETRY_BUDGET": "30",
        # The tests poll the admin routes as fast as they answer, well over an admin's
        # 600 a minute: a 429 would end a wait that was still going well.
        "GATEWAY_RATE_LIMITS_ENABLED": "false",
    }.items():
        monkeypatch.setenv(name, value)


# -- helpers ------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def portal_admin(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the portal mock with its token (its admin routes are never faulty)."""
    app = platform.apps["national_portal"]
    settings = app.state.runtime.settings
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://portal"
    ) as client:
        for _ in range(50):  # the token step may be faulty itself
            answer = await client.post("/api/token", json={
                "username": settings.client_id,
                "password": settings.client_secret.get_secret_value(),
            })  # fmt: skip
            if answer.status_code == 200:
                break
        client.headers["authorization"] = f"Bearer {answer.json()['access_token']}"
        yield client


async def held(portal: httpx.AsyncClient) -> dict[str, tuple[int, int]]:
    answer = (await portal.get("/api/admin/dossiers", params={"limit": 5000})).json()
    return {item["MaHoSo"]: (item["PhienBan"], item["SoBuocXuLy"]) for item in answer["items"]}


async def national(platform: Platform, code: str) -> dict[str, Any]:
    """The dossier as intake gives it to the sync (version = its audit entries)."""
    response = await platform.client.get(
        f"/api/v1/national/dossiers/{code}", headers=admin(platform)
    )
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def admin(platform: Platform) -> dict[str, str]:
    return platform.admin()


async def sync_status(platform: Platform) -> dict[str, Any]:
    response = await platform.client.get("/api/v1/admin/portal-sync", headers=admin(platform))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def caught_up(
    platform: Platform, portal: httpx.AsyncClient, codes: list[str]
) -> tuple[dict[str, Any], dict[str, tuple[int, int]]]:
    """The sync's status and the portal's holdings once nothing is owed and the portal
    holds each of ``codes`` at intake's version with one step per audit entry."""
    seen: list[Any] = []

    async def check() -> tuple[dict[str, Any], dict[str, tuple[int, int]]] | None:
        status = await sync_status(platform)
        letters = (
            await platform.client.get(
                "/api/v1/admin/portal-sync/dead-letters", headers=admin(platform)
            )
        ).json()
        seen[:] = [status, letters]
        if status["owed"]:
            return None
        holdings = await held(portal)
        wanted = {code: (await national(platform, code))["version"] for code in codes}
        seen.append({c: (holdings.get(c), v) for c, v in wanted.items()})
        if any(holdings.get(c) != (v, v) for c, v in wanted.items()):
            return None
        return status, holdings

    try:
        return await eventually(check, seconds=60)
    except AssertionError as failure:
        raise AssertionError(f"the portal did not catch up ({failure}): {seen}") from None


async def take_to_the_end(platform: Platform, index: int) -> tuple[str, str]:
    """A dossier filed online and taken to a final status: every fifth is refused at
    the desk, the others are received, assigned, resolved and returned."""
    citizen = platform.citizen(f"citizen-{index}")
    desk = platform.officer("desk-1", Position.DESK)
    leader = platform.officer("leader-1", Position.LEADER)
    specialist_id = await platform.officer_id()
    specialist = platform.officer(specialist_id, Position.SPECIALIST)
    filed = await submit(platform, citizen)
    assert filed.status_code == 201, filed.text
    code: str = filed.json()["code"]
    if index % 5 == 0:
        refused = await act(platform, code, "refuse", desk, reason="Hồ sơ không thuộc thẩm quyền")
        assert refused.status_code == 200, refused.text
        return code, "refused"
    assert (await act(platform, code, "receive", desk)).status_code == 200
    assigned = await act(platform, code, "assign", leader, assignee=specialist_id)
    assert assigned.status_code == 200, assigned.text
    result = await platform.client.post(
        "/api/v1/documents/results",
        data={"owner": f"citizen-{index}", "dossier_code": code, "agency_code": CENTRE},
        files={"file": ("kết quả.pdf", PDF, "application/pdf")},
        headers=specialist,
    )
    assert result.status_code == 201, result.text
    resolved = await act(
        platform, code, "resolve", specialist, result_documents=[result.json()["id"]]
    )
    assert resolved.status_code == 200, resolved.text
    assert (await act(platform, code, "return", desk)).status_code == 200
    return code, "returned"


# -- the tests ----------------------------------------------------------------------------------


async def test_each_step_of_a_dossier_reaches_the_portal_with_its_national_status(
    platform: Platform,
) -> None:
    citizen = platform.citizen("citizen-1")
    desk = platform.officer("desk-1", Position.DESK)
    leader = platform.officer("leader-1", Position.LEADER)
    async with portal_admin(platform) as portal:

        async def portal_status(code: str, wanted: int) -> dict[str, Any]:
            async def check() -> dict[str, Any] | None:
                answer = (await portal.post("/api/TraCuuHoSo", json={"MaHoSo": code})).json()
                hoso, steps = answer.get("HoSo") or {}, answer.get("TienDo") or [{}]
                # The dossier at the status, and the step that led there.
                reached = hoso.get("TrangThaiHoSo") == steps[-1].get("TrangThai") == wanted
                return answer if reached else None

            return await eventually(check)

        filed = await submit(platform, citizen)
        code = filed.json()["code"]
        first = await portal_status(code, 1)
        assert first["HoSo"]["ChuHoSo"] == "Trần Thị Bình"
        assert first["HoSo"]["KenhThucHien"] == 2  # trực tuyến
        assert first["HoSo"]["MaTTHC"] == "TTHC-20"
        assert (await act(platform, code, "receive", desk)).status_code == 200
        received = await portal_status(code, 2)
        dossier = (await platform.client.get(f"/api/v1/dossiers/{code}", headers=desk)).json()
        # The appointment, in the portal's format and Vietnam's time.
        due = dossier["due_at"]
        assert received["HoSo"]["NgayHenTra"] == due[:19].replace("-", "").replace("T", "").replace(
            ":", ""
        )
        specialist_id = await platform.officer_id()
        assert (
            await act(platform, code, "assign", leader, assignee=specialist_id)
        ).status_code == 200
        processing = await portal_status(code, 4)
        assert (
            await act(platform, code, "request-supplement", platform.officer(
                specialist_id, Position.SPECIALIST), missing=["Bản sao giấy phép lái xe"])
        ).status_code == 200  # fmt: skip
        asked = await portal_status(code, 5)
        assert asked["HoSo"]["DanhSachHoSoBoSung"][0]["NoiDungYeuCau"] == (
            "Bản sao giấy phép lái xe"
        )
        steps = [step["TrangThai"] for step in asked["TienDo"]]
        assert steps == [1, 2, 4, 5], processing
        texts = [step["NoiDungXuLy"] for step in asked["TienDo"]]
        assert texts[0] == "[1] Nộp hồ sơ"
        assert texts[1] == "[2] Tiếp nhận hồ sơ"
        assert asked["TienDo"][0]["NguoiXuLy"] == "Công dân"  # not the citizen's ID number


async def test_under_faults_the_portal_holds_every_dossier_once_with_every_step_once(
    platform: Platform,
) -> None:
    """20 % of calls fail, 5 % time out, 5 % are carried out and their answer lost."""
    async with portal_admin(platform) as portal:
        faulty = await portal.put("/api/admin/faults", json=FAULTS, headers=admin(platform))
        assert faulty.status_code == 200
        finals = dict(await asyncio.gather(*(take_to_the_end(platform, i) for i in range(20))))
        status, holdings = await caught_up(platform, portal, list(finals))
        assert status["dead_letters"] == 0, status
        report = (await portal.get("/api/admin/report")).json()
        await portal.put("/api/admin/faults", json={}, headers=admin(platform))
    # Each dossier at its newest version with one progress step per audit entry (none
    # lost, none twice: ``caught_up``), and nothing else.
    assert set(holdings) == set(finals)
    expected = {"10": sum(s == "returned" for s in finals.values()),
                "3": sum(s == "refused" for s in finals.values())}  # fmt: skip
    assert report["by_status"] == expected
    assert report["progress_steps"] == sum(steps for _, steps in holdings.values())
    # Calls were repeated (lost answers, retries) and changed nothing.
    assert report["upserts_received"] >= len(finals)
    assert status["synced"] == len(finals)
    assert status["recent"]["count"] == len(finals)


async def test_a_dossier_the_portal_refuses_is_dead_lettered_with_the_reason_and_retried(
    platform: Platform,
) -> None:
    async with portal_admin(platform) as portal:
        # The national database loses the procedure: the portal refuses the dossier.
        portal_db = Database(platform.apps["national_portal"].state.runtime.settings.db_url)
        async with portal_db.session() as session:
            await session.execute(delete(PortalProcedure).where(PortalProcedure.code == "TTHC-20"))
        await portal_db.dispose()
        filed = await submit(platform, platform.citizen("citizen-1"))
        code = filed.json()["code"]

        async def dead() -> list[dict[str, Any]] | None:
            response = await platform.client.get(
                "/api/v1/admin/portal-sync/dead-letters", headers=admin(platform)
            )
            return response.json() or None

        letters = await eventually(dead)
        assert [letter["code"] for letter in letters] == [code]
        assert "MaTTHC TTHC-20" in letters[0]["reason"]  # the portal's own words
        # Not retried on its own: a refusal stays a refusal.
        assert (await sync_status(platform))["owed"] == 0
        citizen_call = await platform.client.post(
            f"/api/v1/admin/portal-sync/dead-letters/{code}/retry",
            headers=platform.citizen("citizen-1"),
        )
        assert citizen_call.status_code == 403
        # The cause is fixed; an admin sends it again.
        await portal.put("/api/admin/procedures", json=[{"MaTTHC": "TTHC-20", "TenTTHC": "x"}])
        retried = await platform.client.post(
            f"/api/v1/admin/portal-sync/dead-letters/{code}/retry", headers=admin(platform)
        )
        assert retried.status_code == 202, retried.text
        await caught_up(platform, portal, [code])
        # Synced now: no longer a dead letter (409); a code the sync never saw: 404.
        again = await platform.client.post(
            f"/api/v1/admin/portal-sync/dead-letters/{code}/retry", headers=admin(platform)
        )
        assert again.status_code == 409
        unknown = await platform.client.post(
            f"/api/v1/admin/portal-sync/dead-letters/{code}9/retry", headers=admin(platform)
        )
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/problem+json"


async def test_a_portal_down_spends_the_retry_budget_then_the_dossier_is_dead_lettered(
    monkeypatch: pytest.MonkeyPatch, quick_sync: None, tmp_path: Path
) -> None:
    monkeypatch.setenv("GATEWAY_PORTAL_RETRY_BUDGET", "3")
    async with embedded(tmp_path) as platform, portal_admin(platform) as portal:
        await portal.put("/api/admin/faults", json={"fail_share": 1.0}, headers=admin(platform))
        code = (await submit(platform, platform.citizen("citizen-1"))).json()["code"]

        async def dead() -> dict[str, Any] | None:
            status = await sync_status(platform)
            return status if status["dead_letters"] == 1 else None

        await eventually(dead)
        letters = (
            await platform.client.get(
                "/api/v1/admin/portal-sync/dead-letters", headers=admin(platform)
            )
        ).json()
        assert letters[0]["code"] == code
        assert letters[0]["attempts"] == 3
        assert "HTTP 500" in letters[0]["reason"]
        # The portal is back, and the dossier moves on: a change revives it by itself.
        await portal.put("/api/admin/faults", json={}, headers=admin(platform))
        assert (
            await act(platform, code, "receive", platform.officer("desk-1", Position.DESK))
        ).status_code == 200
        status, holdings = await caught_up(platform, portal, [code])
        assert status["dead_letters"] == 0
        assert holdings[code] == (2, 2)


async def test_reconcile_repairs_a_portal_that_lost_records(platform: Platform) -> None:
    codes = [code for code, _ in await asyncio.gather(
        *(take_to_the_end(platform, i) for i in range(1, 5)))]  # fmt: skip
    async with portal_admin(platform) as portal:
        await caught_up(platform, portal, codes)
    lost, shortened = codes[0], codes[1]
    portal_db = Database(platform.apps["national_portal"].state.runtime.settings.db_url)
    async with portal_db.session() as session:
        await session.execute(delete(PortalProgress).where(PortalProgress.ma_ho_so == lost))
        await session.execute(delete(PortalDossier).where(PortalDossier.ma_ho_so == lost))
        last = await session.scalar(
            select(func.max(PortalProgress.id)).where(PortalProgress.ma_ho_so == shortened)
        )
        await session.execute(delete(PortalProgress).where(PortalProgress.id == last))
    await portal_db.dispose()
    runtime: Runtime = platform.apps["gateway"].state.runtime
    worker, portal_client = sync.worker_for(runtime)
    found = await sync.reconcile(worker, portal_client, runtime.db, page=2)
    assert found.checked == 4
    assert found.missing == [lost]
    assert found.stale == [shortened]
    async with portal_admin(platform) as portal:
        await caught_up(platform, portal, codes)
    again = await sync.reconcile(worker, portal_client, runtime.db)
    assert (again.missing, again.stale) == ([], [])


async def test_the_national_record_is_for_admins_only(platform: Platform) -> None:
    code = (await submit(platform, platform.citizen("citizen-1"))).json()["code"]
    path = f"/api/v1/national/dossiers/{code}"
    for headers, wanted in (
        ({}, 401),
        (platform.citizen("citizen-1"), 403),
        (platform.officer("desk-1", Position.DESK), 403),
        (admin(platform), 200),
    ):
        assert (await platform.client.get(path, headers=headers)).status_code == wanted
    listing = await platform.client.get(
        "/api/v1/national/dossiers", params={"limit": 1}, headers=admin(platform)
    )
    assert listing.json()["items"] == [{"code": code, "version": 1}]


def test_the_reconcile_command_re_sends_what_the_portal_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``onestop portal reconcile`` on the embedded platform's data, the server stopped."""
    monkeypatch.setenv("ONESTOP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONESTOP_ENVIRONMENT", "test")
    # A process just started answers its first calls slowly: no 0.2 s time-out here.
    monkeypatch.setenv("GATEWAY_PORTAL_TIMEOUT_SECONDS", "10")

    async def file_one_and_lose_it() -> str:
        async with embedded(tmp_path) as platform, portal_admin(platform) as portal:
            code: str = (await submit(platform, platform.citizen("citizen-1"))).json()["code"]
            await caught_up(platform, portal, [code])
        portal_db = Database(f"sqlite+aiosqlite:///{tmp_path / 'national_portal.db'}")
        async with portal_db.session() as session:
            await session.execute(delete(PortalProgress))
            await session.execute(delete(PortalDossier))
        await portal_db.dispose()
        return code

    code = asyncio.run(file_one_and_lose_it())
    result = CliRunner().invoke(cli.app, ["portal", "reconcile"])
    assert result.exit_code == 0, result.output
    assert f"missing at the portal: {code}" in result.output
    assert "1 dossiers checked: 1 missing, 0 stale; 1 sent; 0 dead-lettered" in result.output
    again = CliRunner().invoke(cli.app, ["portal", "reconcile"])
    assert "1 dossiers checked: 0 missing, 0 stale; 0 sent" in again.output
