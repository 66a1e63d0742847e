"""Reconciliation: intake's versions against the portal's holdings; what is missing
or stale is owed again, so a portal that lost records is repaired."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import update

from services.gateway.models import PortalSync
from services.gateway.portal_client import PortalClient
from services.gateway.sync.changes import mark_owed
from services.gateway.sync.worker import SyncWorker
from shared.db import Database


@dataclass(frozen=True)
class Reconciled:
    checked: int
    missing: list[str]  # not at the portal at all
    stale: list[str]  # at an older version, or with fewer steps


async def reconcile(worker: SyncWorker, portal: PortalClient, db: Database,
                    *, page: int = 1000) -> Reconciled:  # fmt: skip
    """Walk intake's dossiers and the portal's holdings side by side (both by code) and
    mark every dossier the portal lacks, or holds at an older version or with fewer
    steps, as owed, starting over from what the portal holds."""
    held: dict[str, tuple[int, int]] = {}
    after: str | None = None
    while True:
        found = await portal.held(after=after, limit=page)
        held.update((h.MaHoSo, (h.PhienBan, h.SoBuocXuLy)) for h in found.items)
        if found.next_after is None:
            break
        after = found.next_after
    checked = 0
    missing: list[str] = []
    stale: list[str] = []
    after = None
    now = datetime.now(UTC)
    while True:
        versions = await worker.versions(after=after, limit=page)
        checked += len(versions.items)
        # The portal holds one step per audit entry: the version counts them too.
        behind = {}
        for item in versions.items:
            version, steps = held.get(item.code, (0, 0))
            if version == 0:
                missing.append(item.code)
            elif version < item.version or steps < item.version:
                stale.append(item.code)
            else:
                continue
            behind[item.code] = (version, steps)
        if behind:
            async with db.session() as session:
                await mark_owed(session, behind, at=now)
                for code, (version, _steps) in behind.items():
                    # Every step again: the portal answers those it keeps as done.
                    await session.execute(
                        update(PortalSync)
                        .where(PortalSync.code == code)
                        .values(sent_version=version, sent_steps=0, next_attempt_at=now)
                    )
        if versions.next_after is None:
            break
        after = versions.next_after
    return Reconciled(checked=checked, missing=missing, stale=stale)
