"""Inter-agency steps by the agency doing them: the forwarded dossiers a step's agency
must answer, by the step's due date, and how many it answered late. Each row mirrors a
step of a dossier's ``steps`` and is written in the same transaction (``actions``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import Dossier, StepRecord
from services.intake.repository.queues import OPEN_STATUSES

# What a row of the step queue shows of its dossier.
DOSSIER_COLUMNS = (
    Dossier.code,
    Dossier.status,
    Dossier.procedure_code,
    Dossier.procedure_name,
    Dossier.agency_code,
    Dossier.applicant_name,
    Dossier.appointment_at,
    Dossier.due_at,
)


def forwarded(
    session: AsyncSession, *, code: str, number: int, agency_code: str, at: datetime,
    due_at: datetime | None,
) -> None:  # fmt: skip
    session.add(
        StepRecord(
            dossier_code=code,
            number=number,
            agency_code=agency_code,
            forwarded_at=at,
            due_at=due_at,
        )
    )


async def answered(
    session: AsyncSession, *, code: str, number: int, at: datetime, late: bool | None
) -> None:
    await session.execute(
        update(StepRecord)
        .where(StepRecord.dossier_code == code, StepRecord.number == number)
        .values(completed_at=at, late=late)
    )


async def waiting(session: AsyncSession, agency_code: str, limit: int) -> list[Row[Any]]:
    """The agency's open steps of dossiers still open, soonest due first (undated last)."""
    statement = (
        select(
            StepRecord.number,
            StepRecord.forwarded_at,
            StepRecord.due_at.label("step_due_at"),
            *DOSSIER_COLUMNS,
        )
        .join(Dossier, Dossier.code == StepRecord.dossier_code)
        .where(StepRecord.agency_code == agency_code, StepRecord.completed_at.is_(None))
        .where(Dossier.status.in_(OPEN_STATUSES))
        .order_by(StepRecord.due_at.is_(None), StepRecord.due_at, StepRecord.dossier_code)
        .limit(limit)
    )
    return list(await session.execute(statement))


async def answered_since(
    session: AsyncSession, agency_code: str, since: datetime
) -> tuple[int, int]:
    """How many steps the agency answered since ``since``, and how many of them late."""
    row = (
        await session.execute(
            select(func.count(), func.count().filter(StepRecord.late.is_(True))).where(
                StepRecord.agency_code == agency_code, StepRecord.completed_at >= since
            )
        )
    ).one()
    return int(row[0]), int(row[1])
