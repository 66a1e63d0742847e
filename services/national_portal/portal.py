"""What the portal does with what it receives: keep each dossier once at its newest
version, keep each progress step once and in order, and say what it holds."""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.national_portal.config import NationalPortalSettings
from services.national_portal.models import PortalDossier, PortalProcedure, PortalProgress
from services.national_portal.schemas import ProcedureIn, Report
from shared.contracts.dvcqg import (
    Answer,
    DossierIn,
    ErrorCode,
    HeldVersion,
    LookupOut,
    ProgressIn,
)
from shared.db import dialect_insert

AUDIENCE = "dvcqg"
FINISHED = (9, 10)  # đã xử lý xong, đã trả kết quả
# Statuses only a received dossier reaches: 3 (refused) comes before receipt, and 7 and
# 8 (withdrawal asked, stopped) may come before it too.
RECEIVED = frozenset({2, 4, 5, 6, 9, 10})


class Refused(Exception):
    """A call the portal answers with an error code (and changes nothing for)."""

    def __init__(self, code: ErrorCode, message: str, status: int) -> None:
        super().__init__(message)
        self.answer = Answer(error_code=code, message=message)
        self.status = status


class FailedTokens:
    """Failed token requests per address, in a window of a minute: past ``limit``, the
    address is refused until the window ends (the mock is one process)."""

    def __init__(self, limit: int = 10, window: float = 60.0) -> None:
        self._limit = limit
        self._window = window
        self._seen: dict[str, tuple[float, int]] = {}

    def _count(self, address: str, now: float) -> int:
        started, count = self._seen.get(address, (now, 0))
        return 0 if now - started >= self._window else count

    def check(self, address: str) -> None:
        if self._count(address, time.monotonic()) >= self._limit:
            raise Refused(ErrorCode.UNAUTHORIZED, "Sai tài khoản kết nối quá nhiều lần.", 429)

    def record(self, address: str) -> None:
        now = time.monotonic()
        if len(self._seen) > 10_000:  # forget the windows that have ended
            self._seen = {a: v for a, v in self._seen.items() if now - v[0] < self._window}
        count = self._count(address, now)
        started = self._seen[address][0] if count else now
        self._seen[address] = (started, count + 1)


def issue_token(settings: NationalPortalSettings, username: str, password: str) -> str:
    secret = settings.client_secret.get_secret_value()
    # Both compared in constant time, and both always: a mismatch takes as long wherever
    # it is, so timing tells nothing of the secret.
    right_id = hmac.compare_digest(username.encode(), settings.client_id.encode())
    right_secret = hmac.compare_digest(password.encode(), secret.encode())
    if not (right_id and right_secret):
        raise Refused(ErrorCode.UNAUTHORIZED, "Sai tài khoản kết nối.", 401)
    now = datetime.now(UTC)
    claims = {"sub": username, "aud": AUDIENCE, "iat": now,
              "exp": now + timedelta(seconds=settings.token_seconds)}  # fmt: skip
    return jwt.encode(claims, secret, algorithm="HS256")


def check_token(settings: NationalPortalSettings, authorization: str) -> None:
    scheme, _, token = authorization.partition(" ")
    try:
        if scheme.lower() != "bearer" or not token:
            raise jwt.InvalidTokenError("no bearer token")
        jwt.decode(
            token,
            settings.client_secret.get_secret_value(),
            algorithms=["HS256"],
            audience=AUDIENCE,
        )
    except jwt.InvalidTokenError as exc:
        raise Refused(
            ErrorCode.UNAUTHORIZED, "Mã truy cập không hợp lệ hoặc hết hạn.", 401
        ) from exc


def _problems(dossier: DossierIn) -> list[str]:
    problems = []
    if dossier.TrangThaiHoSo in FINISHED and dossier.NgayKetThucXuLy is None:
        problems.append("Hồ sơ đã xử lý xong phải có NgayKetThucXuLy.")
    if dossier.TrangThaiHoSo == 10 and dossier.NgayTra is None:
        problems.append("Hồ sơ đã trả kết quả phải có NgayTra.")
    if dossier.TrangThaiHoSo in RECEIVED and dossier.NgayTiepNhan is None:
        problems.append("Hồ sơ đã tiếp nhận phải có NgayTiepNhan.")
    if dossier.NgayTiepNhan and dossier.NgayHenTra and dossier.NgayHenTra < dossier.NgayTiepNhan:
        problems.append("NgayHenTra trước NgayTiepNhan.")
    return problems


async def upsert(session: AsyncSession, dossier: DossierIn) -> Answer:
    """``DongBoHoSoMC``. A version the portal already has (or an older one) is a
    success that changes nothing but the count of what was received."""
    problems = _problems(dossier)
    if await session.get(PortalProcedure, dossier.MaTTHC) is None:
        problems.append(f"MaTTHC {dossier.MaTTHC} không có trong CSDL TTHC quốc gia.")
    if problems:
        raise Refused(ErrorCode.INVALID, " ".join(problems), 400)
    # Created empty first, then locked: two calls for one dossier take turns.
    await session.execute(
        dialect_insert(session)(PortalDossier)
        .values(ma_ho_so=dossier.MaHoSo, version=0, data="{}", received=0)
        .on_conflict_do_nothing(index_elements=["ma_ho_so"])
    )
    held = await session.get(PortalDossier, dossier.MaHoSo, with_for_update=True)
    assert held is not None
    if dossier.isUpdating and held.version == 0:
        raise Refused(ErrorCode.NOT_FOUND, "Chưa có hồ sơ này để cập nhật.", 404)
    held.received += 1
    if dossier.PhienBan <= held.version:
        return Answer(message="Đã có phiên bản này của hồ sơ (không thay đổi).")
    held.version = dossier.PhienBan
    held.data = dossier.model_dump_json()
    held.status = dossier.TrangThaiHoSo
    held.procedure_code = dossier.MaTTHC
    held.due_at = dossier.NgayHenTra
    held.finished_at = dossier.NgayKetThucXuLy
    held.supplements = len(dossier.DanhSachHoSoBoSung)
    held.updated_at = datetime.now(UTC)
    return Answer()


async def progress(session: AsyncSession, step: ProgressIn) -> Answer:
    """``CapNhatTienDoHoSoMC``. A repeated step is a success that adds nothing; a step
    earlier than the last one kept is refused."""
    held = await session.get(PortalDossier, step.MaHoSo, with_for_update=True)
    if held is None or held.version == 0:
        raise Refused(ErrorCode.NOT_FOUND, "Không có hồ sơ này.", 404)
    key = (
        PortalProgress.ma_ho_so == step.MaHoSo,
        PortalProgress.at == step.ThoiDiemXuLy,
        PortalProgress.status == step.TrangThai,
        PortalProgress.content == step.NoiDungXuLy,
    )
    if await session.scalar(select(PortalProgress.id).where(*key)) is not None:
        return Answer(message="Đã có bước xử lý này (không thay đổi).")
    last = await session.scalar(
        select(func.max(PortalProgress.at)).where(PortalProgress.ma_ho_so == step.MaHoSo)
    )
    if last is not None and step.ThoiDiemXuLy < last:
        raise Refused(ErrorCode.OUT_OF_ORDER, "ThoiDiemXuLy trước bước đã có.", 409)
    session.add(
        PortalProgress(
            ma_ho_so=step.MaHoSo,
            at=step.ThoiDiemXuLy,
            status=step.TrangThai,
            content=step.NoiDungXuLy,
            handler=step.NguoiXuLy,
            data=step.model_dump_json(),
        )
    )
    return Answer()


async def lookup(session: AsyncSession, code: str) -> LookupOut:
    """``TraCuuHoSo``."""
    held = await session.get(PortalDossier, code)
    if held is None or held.version == 0:
        raise Refused(ErrorCode.NOT_FOUND, "Không có hồ sơ này.", 404)
    steps = await session.scalars(
        select(PortalProgress.data)
        .where(PortalProgress.ma_ho_so == code)
        .order_by(PortalProgress.at, PortalProgress.id)
    )
    return LookupOut(HoSo=json.loads(held.data), TienDo=[json.loads(step) for step in steps])


async def held(session: AsyncSession, *, after: str | None, limit: int) -> list[HeldVersion]:
    """A page of the dossiers held, by MaHoSo, with their version and steps kept."""
    steps = (
        select(func.count(PortalProgress.id))
        .where(PortalProgress.ma_ho_so == PortalDossier.ma_ho_so)
        .scalar_subquery()
    )
    statement = (
        select(PortalDossier.ma_ho_so, PortalDossier.version, steps)
        .where(PortalDossier.version > 0)
        .order_by(PortalDossier.ma_ho_so)
        .limit(limit)
    )
    if after is not None:
        statement = statement.where(PortalDossier.ma_ho_so > after)
    rows = (await session.execute(statement)).all()
    return [HeldVersion(MaHoSo=code, PhienBan=version, SoBuocXuLy=n) for code, version, n in rows]


async def register_procedures(session: AsyncSession, procedures: Iterable[ProcedureIn]) -> int:
    """Add procedures to the national database, or rename them; how many were new."""
    rows = {p.MaTTHC: p.TenTTHC for p in procedures}
    if not rows:
        return 0
    known = set(
        await session.scalars(select(PortalProcedure.code).where(PortalProcedure.code.in_(rows)))
    )
    statement = dialect_insert(session)(PortalProcedure).values(
        [{"code": code, "name": name} for code, name in rows.items()]
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["code"], set_={"name": statement.excluded.name}
        )
    )
    return len(rows.keys() - known)


async def report(session: AsyncSession) -> Report:
    """What the portal holds, and the on-time share the way the index reads it: of the
    dossiers finished, those finished by their promised date (NgayHenTra) and asked for
    supplements at most once (a second request counts a dossier late, QĐ 766)."""
    held = PortalDossier.version > 0
    counted = await session.execute(
        select(PortalDossier.status, func.count()).where(held).group_by(PortalDossier.status)
    )
    by_status: dict[int, int] = dict(counted.all())
    finished = (PortalDossier.status.in_(FINISHED), PortalDossier.finished_at.is_not(None), held)
    done = int(await session.scalar(select(func.count()).where(*finished)) or 0)
    on_time = int(
        await session.scalar(
            select(func.count()).where(
                *finished, PortalDossier.due_at.is_not(None),
                PortalDossier.finished_at <= PortalDossier.due_at, PortalDossier.supplements <= 1,
            )
        ) or 0
    )  # fmt: skip
    return Report(
        dossiers=sum(by_status.values()),
        by_status={str(status): count for status, count in sorted(by_status.items())},
        progress_steps=int(await session.scalar(select(func.count(PortalProgress.id))) or 0),
        upserts_received=int(
            await session.scalar(select(func.coalesce(func.sum(PortalDossier.received), 0))) or 0
        ),
        finished=done,
        finished_on_time=on_time,
        on_time_share=on_time / done if done else None,
    )
