"""The sync's parts: the mapping to the portal's bodies, the backoff, and the claims that
several workers take at once (PostgreSQL and SQLite)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest
from sqlalchemy import select

from services.gateway import national, sync
from services.gateway.config import UPSTREAM_NAMES, GatewaySettings
from services.gateway.main import spec
from services.gateway.models import PortalSync
from services.gateway.portal_client import PortalClient
from shared.auth import TokenService
from shared.contracts.dvcqg import DossierIn, ProgressIn
from shared.contracts.national import NATIONAL_STATUS, NationalRecord, NationalStep
from shared.db import Database
from shared.migrations import upgrade
from shared.retry import Backoff
from tests.conftest import PgDatabase, distributed_platform, embedded_platform

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def step(sequence: int, action: str, status: str, minutes: int, **details: Any) -> NationalStep:
    role = {"submit": "citizen", "supplement": "citizen", "due_changed": "system"}.get(
        action, "officer"
    )
    return NationalStep(sequence=sequence, at=T0 + timedelta(minutes=minutes), action=action,
                        status=status, actor=f"officer-{sequence}" if role == "officer" else "c1",
                        actor_role=role, details=details)  # fmt: skip


RECORD = NationalRecord(
    code="000.00.15.H49-261201-0007",
    version=7,
    status="returned",
    procedure_code="TTHC-20",
    procedure_name="Đổi giấy phép lái xe",
    field_code="GT",
    agency_code="000.00.15.H49",
    channel="post",
    applicant_name="Trần Thị Bình",
    submitted_at=T0,
    received_at=T0 + timedelta(minutes=5),
    due_at=T0 + timedelta(days=7),
    finished_at=T0 + timedelta(days=3),
    documents=[{"requirement": 0, "id": None}, {"requirement": 1, "id": "d1", "reused": True}],
    fees=[{"name": "Lệ phí", "amount_vnd": 135000}],
    steps=[
        step(1, "submit", "submitted", 0),
        step(2, "receive", "received", 5, due_at=(T0 + timedelta(days=7)).isoformat()),
        step(3, "request-supplement", "supplement_requested", 60, missing=["Ảnh 3x4", "Tờ khai"]),
        step(4, "supplement", "received", 120),
        step(5, "assign", "processing", 130),
        step(6, "resolve", "resolved", 3 * 24 * 60),
        step(7, "return", "returned", 3 * 24 * 60 + 30, note="Trả qua bưu điện"),
    ],
)


def test_the_dossier_body_follows_the_portal_s_fields_and_formats() -> None:
    body = national.dossier_body(RECORD, updating=True)
    assert DossierIn.model_validate(body).PhienBan == 7  # the portal's own model accepts it
    assert body["TrangThaiHoSo"] == 10
    assert body["KenhThucHien"] == 3
    assert body["isUpdating"]
    assert body["NgayTiepNhan"] == "20261201150500"  # Vietnam's time, yyyyMMddHHmmss
    assert body["NgayTra"] == "20261204153000"  # the return step's time
    assert body["NgayKetThucXuLy"] == "20261204150000"
    assert body["DanhSachHoSoBoSung"] == [
        {"NgayYeuCau": "20261201160000", "NoiDungYeuCau": "Ảnh 3x4; Tờ khai",
         "NgayBoSung": "20261201170000"}
    ]  # fmt: skip
    assert [d["NopBanGiay"] for d in body["TaiLieuNop"]] == [True, False]
    assert body["TaiLieuNop"][1]["DuocTaiSuDung"] is True
    assert body["DanhSachLePhi"] == [{"TenPhiLePhi": "Lệ phí", "MucPhi": 135000}]


def test_every_internal_status_has_its_national_code() -> None:
    assert sorted(NATIONAL_STATUS.values()) == list(range(1, 11))
    for status, code in NATIONAL_STATUS.items():
        record = RECORD.model_copy(update={"status": status})
        assert national.dossier_body(record, updating=False)["TrangThaiHoSo"] == code


def test_progress_names_officers_and_never_the_citizen() -> None:
    names = {"officer-5": "Nguyễn Văn An"}
    bodies = [national.progress_body(RECORD, s, names) for s in RECORD.steps]
    for body in bodies:
        ProgressIn.model_validate(body)
    assert [b["NguoiXuLy"] for b in bodies[:5]] == [
        "Công dân", "Cán bộ", "Cán bộ", "Công dân", "Nguyễn Văn An"
    ]  # fmt: skip
    assert bodies[2]["NoiDungXuLy"] == "[3] Yêu cầu bổ sung hồ sơ: Ảnh 3x4; Tờ khai"
    assert bodies[6]["NoiDungXuLy"] == "[7] Trả kết quả: Trả qua bưu điện"
    assert [b["TrangThai"] for b in bodies] == [1, 2, 5, 2, 4, 9, 10]
    assert bodies[1]["NgayKetThucTheoQuyDinh"] == "20261208150000"
    assert national.officer_subjects(RECORD) == {f"officer-{n}" for n in (2, 3, 5, 6, 7)}


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    backoff = Backoff(base=1.0, cap=60.0, rng=random.Random(3))
    for attempts in range(1, 15):
        ceiling = min(60.0, 2.0 ** (attempts - 1))
        delays = [backoff.delay(attempts) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 100  # drawn, not fixed
    assert max(backoff.delay(40) for _ in range(100)) <= 60.0


@pytest.fixture(params=["postgresql", "sqlite"])
async def settings(
    request: pytest.FixtureRequest, tmp_path: Path, pg_database: PgDatabase
) -> GatewaySettings:
    if request.param == "postgresql":
        urls: dict[str, Any] = {f"{name}_url": "http://127.0.0.1:9" for name in UPSTREAM_NAMES}
        return GatewaySettings(
            platform=distributed_platform(), database_url=await pg_database("gateway"), **urls
        )
    settings = GatewaySettings(platform=embedded_platform(tmp_path))
    await anyio.to_thread.run_sync(upgrade, spec.migrations, settings.db_url)
    return settings


async def test_workers_claim_disjoint_dossiers_and_changes_are_counted(
    settings: GatewaySettings,
) -> None:
    database = Database(settings.db_url)
    unused = httpx.AsyncClient(base_url="http://127.0.0.1:9")
    try:
        codes = [f"C-{n:03}" for n in range(40)]
        async with database.session() as session:
            await sync.mark_owed(session, codes, at=T0)
        async with database.session() as session:
            await sync.mark_owed(session, codes[:1], at=T0 + timedelta(hours=1))
        portal = PortalClient(unused, client_id="x", client_secret="y", timeout_seconds=1)
        workers = [
            sync.SyncWorker(database, settings, intake=unused, portal=portal,
                            tokens=TokenService.from_settings(settings.platform))
            for _ in range(4)
        ]  # fmt: skip
        claims = await asyncio.gather(*(w._claim(15) for w in workers))
        claimed = [claim.code for batch in claims for claim in batch]
        assert sorted(claimed) == codes  # every owed dossier once, to one worker only
        assert not await workers[0]._claim(10)  # leased: not due again yet
        async with database.read_session() as session:
            first = await session.get(PortalSync, codes[0])
            assert first is not None
            assert first.changes == 2
            assert first.owed_since == T0  # the oldest change not yet sent
            due = await session.scalars(select(PortalSync.next_attempt_at))
            assert all(at > datetime.now(UTC) for at in due)
    finally:
        await unused.aclose()
        await database.dispose()


@pytest.mark.parametrize("intake_answers", [503, 502, None])  # None: refused
async def test_intake_being_away_spends_none_of_the_portal_s_retry_budget(
    settings: GatewaySettings, intake_answers: int | None
) -> None:
    """Intake (or its database) away is the platform's own outage, not the portal's
    failure: however long it lasts, the dossier is tried again every couple of seconds
    and never dead-lettered for it (tests/chaos). A portal that fails still spends the
    budget (test_sync.py)."""

    def answer(request: httpx.Request) -> httpx.Response:
        if intake_answers is None:
            raise httpx.ConnectError("Connection refused", request=request)
        return httpx.Response(intake_answers, json={"status": intake_answers})

    database = Database(settings.db_url)
    intake = httpx.AsyncClient(base_url="http://intake", transport=httpx.MockTransport(answer))
    budget = settings.portal_retry_budget
    try:
        async with database.session() as session:
            await sync.mark_owed(session, ["C-001"], at=T0)
        portal = PortalClient(intake, client_id="x", client_secret="y", timeout_seconds=1)
        worker = sync.SyncWorker(database, settings, intake=intake, portal=portal,
                                 tokens=TokenService.from_settings(settings.platform))  # fmt: skip
        for _ in range(budget + 2):
            async with database.session() as session:  # due again at once, as time passes
                held = await session.get(PortalSync, "C-001")
                assert held is not None
                held.next_attempt_at = T0
            (claim,) = await worker._claim(1)
            began = datetime.now(UTC)
            await worker.sync(claim)
        async with database.read_session() as session:
            held = await session.get(PortalSync, "C-001")
        assert held is not None
        assert (held.dead_at, held.attempts, held.owed) == (None, 0, True)
        assert (held.last_error or "").startswith("intake")
        wait = (held.next_attempt_at - began).total_seconds()
        assert wait <= sync.worker.INTAKE_AWAY_RETRY_SECONDS + 1  # not an exponential wait
    finally:
        await intake.aclose()
        await database.dispose()
