"""Admins' view of the national portal sync: its state and lag, and the dead letters."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from services.gateway import sync
from services.gateway.schemas import DeadLetter, SyncStatus
from shared.access import Grant, allow
from shared.db import ReadSessionDep, SessionDep

router = APIRouter(prefix="/api/v1/admin/portal-sync", tags=["admin"])
Code = Annotated[str, Path(pattern=r"^[A-Za-z0-9.\-]{1,60}$")]
ADMIN = allow(Grant.ADMIN)


@router.get("", response_model=SyncStatus, **ADMIN)
async def sync_status(session: ReadSessionDep) -> SyncStatus:
    """How many dossiers the portal is owed, how long the oldest change has waited (the
    sync lag), how many are dead-lettered, and the lag of the last hour's syncs."""
    return await sync.status(session, now=datetime.now(UTC))


@router.get("/dead-letters", response_model=list[DeadLetter], **ADMIN)
async def list_dead_letters(
    session: ReadSessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[DeadLetter]:
    """Dossiers the sync gave up on, newest first, each with the reason."""
    return await sync.dead_letters(session, limit=limit)


@router.post("/dead-letters/{code}/retry", status_code=202, **ADMIN)
async def retry_dead_letter(session: SessionDep, code: Code) -> dict[str, str]:
    """Send a dead-lettered dossier again (after the cause was fixed); 409 for one the
    sync has not given up on, 404 for one it does not know."""
    await sync.retry(session, code, now=datetime.now(UTC))
    return {"code": code, "status": "owed"}
