"""Officer queues and a citizen's list, keyset-paginated (no OFFSET: any page costs the
same as the first).

A queue is an agency's dossiers ordered by due date then code, the ones without a due
date (not received yet, or waiting for the citizen) last. The order matches the index
``(agency_code, due_at, code)``: the dated part is one range scan from the cursor, the
undated tail a second one once the first is used up.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from services.intake.clock import PAUSED_STATUSES
from services.intake.machine import FINAL, Status
from services.intake.models import Dossier
from shared.errors import Unprocessable

# What a queue row shows: loading only these keeps the e-form and history off the wire.
SUMMARY = load_only(
    Dossier.code,
    Dossier.status,
    Dossier.procedure_code,
    Dossier.procedure_name,
    Dossier.agency_code,
    Dossier.assignee,
    Dossier.submitted_at,
    Dossier.received_at,
    Dossier.due_at,
    Dossier.due_soon_at,
    Dossier.finished_at,
    Dossier.timeliness,
    raiseload=True,
)
OPEN_STATUSES = tuple(status.value for status in Status if status not in FINAL)
BUCKETS = ("on_track", "due_soon", "overdue", "paused", "not_received")
BAD_CURSOR = Unprocessable(
    "Con trỏ phân trang không hợp lệ.",
    errors=[{"location": "query", "parameter": "cursor", "message": "Dùng next_cursor."}],
)


def encode_cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError as exc:
        raise BAD_CURSOR from exc
    if not isinstance(parts, list) or len(parts) != size:
        raise BAD_CURSOR
    return parts


def bucket_condition(bucket: str, now: datetime) -> ColumnElement[bool]:
    received = Dossier.status.notin_([Status.SUBMITTED.value, *PAUSED_STATUSES])
    if bucket == "overdue":
        return and_(received, Dossier.due_at < now)
    if bucket == "due_soon":
        return and_(received, Dossier.due_soon_at <= now, Dossier.due_at >= now)
    if bucket == "on_track":
        return and_(received, Dossier.due_soon_at > now)
    if bucket == "paused":
        return Dossier.status.in_(PAUSED_STATUSES)
    return Dossier.status == Status.SUBMITTED.value


async def queue(
    session: AsyncSession,
    *,
    agency_code: str,
    statuses: Sequence[str] | None,
    bucket: str | None,
    assignee: str | None,
    cursor: str | None,
    limit: int,
    now: datetime,
    with_counts: bool,
) -> tuple[list[Dossier], str | None, dict[str, int]]:
    filters: list[ColumnElement[bool]] = [
        Dossier.agency_code == agency_code,
        Dossier.status.in_(list(statuses or OPEN_STATUSES)),
    ]
    if assignee is not None:
        filters.append(Dossier.assignee == assignee)
    counts: dict[str, int] = {}
    if with_counts:
        columns = [func.count().filter(bucket_condition(name, now)).label(name) for name in BUCKETS]
        row = (await session.execute(select(*columns).where(*filters))).one()
        counts = dict(zip(BUCKETS, row, strict=True))
    if bucket is not None:
        filters.append(bucket_condition(bucket, now))

    after_due: datetime | None = None
    after_code = ""
    dated = True
    if cursor is not None:
        raw_due, after_code = decode_cursor(cursor, 2)
        dated = raw_due is not None
        try:
            after_due = datetime.fromisoformat(raw_due) if raw_due else None
        except (TypeError, ValueError) as exc:
            raise BAD_CURSOR from exc
    rows: list[Dossier] = []
    if dated:
        statement = select(Dossier).options(SUMMARY).where(*filters, Dossier.due_at.is_not(None))
        if after_due is not None:
            statement = statement.where(
                tuple_(Dossier.due_at, Dossier.code)
                > tuple_(literal(after_due, Dossier.due_at.type), after_code)
            )
        statement = statement.order_by(Dossier.due_at, Dossier.code).limit(limit + 1)
        rows = list(await session.scalars(statement))
    if len(rows) <= limit:
        statement = select(Dossier).options(SUMMARY).where(*filters, Dossier.due_at.is_(None))
        if not dated:
            statement = statement.where(Dossier.code > after_code)
        statement = statement.order_by(Dossier.code).limit(limit + 1 - len(rows))
        rows += list(await session.scalars(statement))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(last.due_at.isoformat() if last.due_at else None, last.code)
    return rows, next_cursor, counts


async def own(
    session: AsyncSession, *, applicant: str, status: str | None, cursor: str | None, limit: int
) -> tuple[list[Dossier], str | None]:
    """A citizen's dossiers, newest first."""
    statement = select(Dossier).options(SUMMARY).where(Dossier.applicant == applicant)
    if status is not None:
        statement = statement.where(Dossier.status == status)
    if cursor is not None:
        raw_at, code = decode_cursor(cursor, 2)
        try:
            at = datetime.fromisoformat(raw_at)
        except (TypeError, ValueError) as exc:
            raise BAD_CURSOR from exc
        statement = statement.where(
            tuple_(Dossier.submitted_at, Dossier.code)
            < tuple_(literal(at, Dossier.submitted_at.type), code)
        )
    statement = statement.order_by(Dossier.submitted_at.desc(), Dossier.code.desc())
    rows = list(await session.scalars(statement.limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].submitted_at.isoformat(), rows[-1].code)
    return rows, next_cursor
