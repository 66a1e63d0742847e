"""A calendar change tried before it is made: which open dossiers it would move, and
by how much (``POST /api/v1/calendars/{key}/changes/preview``).

The change is applied and every open clock it governs recomputed exactly as the real
change would, in the request's transaction, which is then rolled back: nothing is
kept, no event leaves, and no engine built from the uncommitted version is remembered
(``calendars.uncommitted``), since the real change may make that version differently.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.tracking import calendars, ledger
from services.tracking.schemas import CalendarEdit, ChangePreview, RecomputationOut
from shared.events.outbox import Outbox


async def preview(
    session: AsyncSession,
    outbox: Outbox,
    *,
    key: str,
    edit: CalendarEdit,
    by: str,
    due_soon_minutes: int,
) -> ChangePreview:
    """What ``edit`` would do, without doing it (the same 422 for what it refuses)."""
    try:
        with calendars.uncommitted():
            made = await calendars.change(session, outbox, key=key, edit=edit, by=by)
            moved = await ledger.recompute(
                session, outbox, calendar_code=made.calendar_code, version=made.version,
                reason=edit.decision, due_soon_minutes=due_soon_minutes,
            )  # fmt: skip
            return ChangePreview(
                calendar_code=made.calendar_code,
                version=made.version,
                changes=made.changes,
                moved=[RecomputationOut.model_validate(row) for row in moved],
            )
    finally:
        await session.rollback()
