"""Every query of intake. Reads of one dossier and its audit trail are here; the
statements with a story of their own have a module each:

- ``filing``: a submission's write, one statement on PostgreSQL;
- ``codes``: the per-desk, per-day counter behind dossier codes;
- ``known_documents``: intake's copy of the documents it has heard of;
- ``queues``: keyset pages of agency queues and citizens' lists;
- ``tallies``: the counts per timeliness the queues show, kept by triggers;
- ``steps``: inter-agency steps by the agency doing them (its queue of forwarded dossiers);
- ``idempotency``: the claimed keys and the answers they replay.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import AuditEntry, Dossier, DossierView


async def get_by_code(session: AsyncSession, code: str) -> Dossier | None:
    return await session.get(Dossier, code)


async def get_for_update(session: AsyncSession, code: str) -> Dossier | None:
    """The dossier locked for this transaction (PostgreSQL; SQLite's writer lock already
    serialises), read again even if the session holds it."""
    statement = (
        select(Dossier).where(Dossier.code == code).execution_options(populate_existing=True)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def audit_trail(session: AsyncSession, code: str) -> list[AuditEntry]:
    """A dossier's audit entries, in order."""
    rows = await session.scalars(
        select(AuditEntry).where(AuditEntry.dossier_code == code).order_by(AuditEntry.sequence)
    )
    return list(rows)


async def audited_actions(session: AsyncSession, code: str, action: str) -> list[AuditEntry]:
    """The dossier's audit entries of one action."""
    rows = await session.scalars(
        select(AuditEntry).where(AuditEntry.dossier_code == code, AuditEntry.action == action)
    )
    return list(rows)


async def every_audit_entry(session: AsyncSession) -> AsyncIterator[AuditEntry]:
    """Every audit entry by dossier then sequence, streamed."""
    entries = await session.stream_scalars(
        select(AuditEntry)
        .order_by(AuditEntry.dossier_code, AuditEntry.sequence)
        .execution_options(yield_per=1000)
    )
    async for entry in entries:
        yield entry


async def headless_dossiers(session: AsyncSession) -> AsyncIterator[tuple[str, int]]:
    """Code and audit sequence of each dossier whose recorded last entry (number and
    hash) is not in its chain: the chain alone cannot tell that its end was removed."""
    heads = await session.stream(
        select(Dossier.code, Dossier.audit_sequence)
        .outerjoin(
            AuditEntry,
            and_(
                AuditEntry.dossier_code == Dossier.code,
                AuditEntry.sequence == Dossier.audit_sequence,
            ),
        )
        .where(or_(AuditEntry.hash.is_(None), AuditEntry.hash != Dossier.head_hash))
        .order_by(Dossier.code)
    )
    async for code, sequence in heads:
        yield code, sequence


async def versions_after(
    session: AsyncSession, *, after: str | None, limit: int
) -> list[tuple[str, int]]:
    """Code and audit sequence of each dossier by code, after ``after``."""
    statement = select(Dossier.code, Dossier.audit_sequence).order_by(Dossier.code).limit(limit)
    if after is not None:
        statement = statement.where(Dossier.code > after)
    return [(code, version) for code, version in (await session.execute(statement)).all()]


async def viewed_since(session: AsyncSession, code: str, actor: str, since: datetime) -> bool:
    """Whether ``actor`` opened the dossier after ``since`` (views are kept once a while)."""
    found = await session.scalar(
        select(DossierView.id)
        .where(
            DossierView.dossier_code == code,
            DossierView.actor == actor,
            DossierView.at > since,
        )
        .limit(1)
    )
    return found is not None


async def views_of(session: AsyncSession, code: str) -> list[DossierView]:
    """When officers opened the dossier, in order."""
    rows = await session.scalars(
        select(DossierView).where(DossierView.dossier_code == code).order_by(DossierView.at)
    )
    return list(rows)
