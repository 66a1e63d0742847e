"""What admins see of the sync: its state and lag, the dead letters, a retry."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.models import PortalSync
from services.gateway.schemas import DeadLetter, LagFigures, SyncStatus
from shared.errors import Conflict, NotFound


async def status(session: AsyncSession, *, now: datetime) -> SyncStatus:
    alive = PortalSync.dead_at.is_(None)
    owed, dead, synced, oldest = (
        await session.execute(
            select(
                func.count().filter(PortalSync.owed, alive),
                func.count().filter(PortalSync.dead_at.is_not(None)),
                func.count().filter(~PortalSync.owed, alive),
                func.min(PortalSync.owed_since).filter(PortalSync.owed, alive),
            )
        )
    ).one()
    recent = sorted(
        lag
        for lag in await session.scalars(
            select(PortalSync.lag_seconds)
            .where(
                PortalSync.synced_at >= now - timedelta(hours=1),
                PortalSync.lag_seconds.is_not(None),
            )
            .order_by(PortalSync.synced_at.desc())
            .limit(10_000)
        )
        if lag is not None
    )
    if oldest is not None and oldest.tzinfo is None:  # SQLite's aggregate is a plain string
        oldest = datetime.fromisoformat(str(oldest)).replace(tzinfo=UTC)
    return SyncStatus(
        owed=owed,
        dead_letters=dead,
        synced=synced,
        oldest_owed_since=oldest,
        lag_seconds=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
        recent=lag_figures(recent),
    )


def lag_figures(lags: list[float]) -> LagFigures:
    """Nearest-rank percentiles of sorted ``lags``."""
    if not lags:
        return LagFigures(count=0, p50=None, p95=None, max=None)

    def rank(share: float) -> float:
        return lags[max(math.ceil(share * len(lags)) - 1, 0)]

    return LagFigures(count=len(lags), p50=rank(0.5), p95=rank(0.95), max=lags[-1])


async def dead_letters(session: AsyncSession, *, limit: int) -> list[DeadLetter]:
    rows = await session.scalars(
        select(PortalSync)
        .where(PortalSync.dead_at.is_not(None))
        .order_by(PortalSync.dead_at.desc())
        .limit(limit)
    )
    return [
        DeadLetter(code=row.code, reason=row.last_error, dead_at=row.dead_at,
                   attempts=row.attempts, sent_version=row.sent_version,
                   sent_steps=row.sent_steps)
        for row in rows
    ]  # fmt: skip


async def retry(session: AsyncSession, code: str, *, now: datetime) -> None:
    """An admin sends a dead-lettered dossier again, with a fresh budget; 409 for one
    the sync has not given up on, 404 for one it does not know."""
    result = await session.execute(
        update(PortalSync)
        .where(PortalSync.code == code, PortalSync.dead_at.is_not(None))
        .values(dead_at=None, attempts=0, owed=True, next_attempt_at=now,
                owed_since=func.coalesce(PortalSync.owed_since, now))
    )  # fmt: skip
    if result.rowcount:  # type: ignore[attr-defined]
        return
    if await session.get(PortalSync, code) is None:
        raise NotFound(f"Hồ sơ {code} chưa từng được đồng bộ.")
    raise Conflict(f"Hồ sơ {code} không nằm trong danh sách đồng bộ lỗi.")
