"""Admins' view of the national portal sync: its state and lag, and the dead letters."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from services.gateway import sync
from services.gateway.schemas import DeadLetter, SyncStatus
from shared.auth import Role, require_role
from shared.db import ReadSessionDep, SessionDep
from shared.errors import NotFound

router = APIRouter(
    prefix="/api/v1/admin/portal-sync",
    tags=["admin"],
    dependencies=[Depends(require_role(Role.ADMIN))],
)
Code = Annotated[str, Path(pattern=r"^[A-Za-z0-9.\-]{1,60}$")]


@router.get("", response_model=SyncStatus)
async def sync_status(session: ReadSessionDep) -> SyncStatus:
    """How many dossiers the portal is owed, how long the oldest change has waited (the
    sync lag), how many are dead-lettered, and the lag of the last hour's syncs."""
    return await sync.status(session, now=datetime.now(UTC))


@router.get("/dead-letters", response_model=list[DeadLetter])
async def list_dead_letters(
    session: ReadSessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[DeadLetter]:
    """Dossiers the sync gave up on, newest first, each with the reason."""
    return await sync.dead_letters(session, limit=limit)


@router.post("/dead-letters/{code}/retry", status_code=202)
async def retry_dead_letter(session: SessionDep, code: Code) -> dict[str, str]:
    """Send a dead-lettered dossier again (after the cause was fixed)."""
    if not await sync.retry(session, code, now=datetime.now(UTC)):
        raise NotFound(f"Hồ sơ {code} không nằm trong danh sách đồng bộ lỗi.")
    return {"code": code, "status": "owed"}
