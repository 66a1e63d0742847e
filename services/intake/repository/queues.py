"""Officer queues and a citizen's list, keyset-paginated (no OFFSET: any page costs the
same as the first).

A queue is an agency's dossiers ordered by due date then code, the ones without a due
date (not received yet, or waiting for the citizen) last. The order matches the index
``(agency_code, due_at, code)``: the dated part is one range scan from the cursor, the
undated tail a second one once the first is used up.

The first page carries counts per timeliness, from the queue tallies (``tallies.py``)
unless an assignee or procedure filter asks for a count the tallies cannot answer: ``counted`` is
the row-by-row count, which the tests also hold the tallies to.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Row,
    Select,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.due_dates import NOT_DATED, PAUSED_STATUSES
from services.intake.machine import FINAL, Status
from services.intake.models import Dossier
from services.intake.repository.tallies import tallied
from shared.errors import Unprocessable

# What a queue row shows (``views.Summarised``): rows of these columns, not entities,
# keep the e-form and history off the wire and cost a fifth of loading ORM objects.
SUMMARY_COLUMNS = (
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
    Dossier.appointment_at,
    Dossier.finished_at,
    Dossier.timeliness,
    Dossier.applicant_name,
)
OPEN_STATUSES = tuple(status.value for status in Status if status not in FINAL)
# "resolved": the result is ready and waits for the desk to hand it over. Its clock has
# stopped, so it is neither on track nor overdue whatever its due date says.
BUCKETS = ("on_track", "due_soon", "overdue", "paused", "not_received", "resolved")


def bad_cursor() -> Unprocessable:
    """A new error each time: one instance raised again would carry an earlier request's
    traceback and context into the next."""
    return Unprocessable(
        "Con trỏ phân trang không hợp lệ.",
        errors=[{"location": "query", "parameter": "cursor", "message": "Dùng next_cursor."}],
    )


def encode_cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError as exc:
        raise bad_cursor() from exc
    if not isinstance(parts, list) or len(parts) != size:
        raise bad_cursor()
    return parts


def bucket_condition(bucket: str, now: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    received = Dossier.status.notin_(sorted(NOT_DATED))
    if bucket == "overdue":
        return and_(received, Dossier.due_at < now)
    if bucket == "due_soon":
        return and_(received, Dossier.due_soon_at <= now, Dossier.due_at >= now)
    if bucket == "on_track":
        return and_(received, Dossier.due_soon_at > now)
    if bucket == "paused":
        return Dossier.status.in_(PAUSED_STATUSES)
    if bucket == "resolved":
        return Dossier.status == Status.RESOLVED.value
    return Dossier.status == Status.SUBMITTED.value


async def counted(
    session: AsyncSession, filters: Sequence[ColumnElement[bool]], now: datetime
) -> dict[str, int]:
    """The counts per timeliness of the dossiers ``filters`` select, row by row."""
    columns = [func.count().filter(bucket_condition(name, now)).label(name) for name in BUCKETS]
    row = (await session.execute(select(*columns).where(*filters))).one()
    return dict(zip(BUCKETS, row, strict=True))


@functools.cache
def _page(
    *, dated: bool, after: bool, bucket: str | None, by_assignee: bool, by_procedure: bool
) -> Select[*tuple[Any, ...]]:
    """A page's statement of one shape, built once with bound parameters: building it
    per request cost about as much CPU as running it (bench/RESULTS.md, queues)."""
    filters = [
        Dossier.agency_code == bindparam("agency"),
        Dossier.status.in_(bindparam("statuses", expanding=True)),
    ]
    if by_assignee:
        filters.append(Dossier.assignee == bindparam("assignee"))
    if by_procedure:
        filters.append(Dossier.procedure_code == bindparam("procedure"))
    if bucket is not None:
        filters.append(bucket_condition(bucket, bindparam("now")))
    after_code: BindParameter[str] = bindparam("after_code")
    if dated:
        statement = select(*SUMMARY_COLUMNS).where(*filters, Dossier.due_at.is_not(None))
        if after:
            after_due = bindparam("after_due", type_=Dossier.due_at.type)
            statement = statement.where(
                tuple_(Dossier.due_at, Dossier.code) > tuple_(after_due, after_code)
            )
        statement = statement.order_by(Dossier.due_at, Dossier.code)
    else:
        statement = select(*SUMMARY_COLUMNS).where(*filters, Dossier.due_at.is_(None))
        if after:
            statement = statement.where(Dossier.code > after_code)
        statement = statement.order_by(Dossier.code)
    return statement.limit(bindparam("limit"))


async def queue(
    session: AsyncSession,
    *,
    agency_code: str,
    statuses: Sequence[str] | None,
    bucket: str | None,
    assignee: str | None,
    procedure: str | None = None,
    cursor: str | None,
    limit: int,
    now: datetime,
    with_counts: bool,
) -> tuple[list[Row[Any]], str | None, dict[str, int]]:
    statuses = list(statuses or OPEN_STATUSES)
    counts: dict[str, int] = {}
    if with_counts and assignee is None and procedure is None:
        counts = await tallied(session, agency_code, statuses, now)
    elif with_counts:
        filters = [Dossier.agency_code == agency_code, Dossier.status.in_(statuses)]
        if assignee is not None:
            filters.append(Dossier.assignee == assignee)
        if procedure is not None:
            filters.append(Dossier.procedure_code == procedure)
        counts = await counted(session, filters, now)

    parameters: dict[str, Any] = {
        "agency": agency_code,
        "statuses": statuses,
        "assignee": assignee,
        "procedure": procedure,
        "now": now,
        "after_due": None,
        "after_code": "",
    }
    dated = True
    if cursor is not None:
        raw_due, parameters["after_code"] = decode_cursor(cursor, 2)
        dated = raw_due is not None
        parameters["after_due"] = _instant(raw_due) if dated else None
    shape = {
        "bucket": bucket,
        "by_assignee": assignee is not None,
        "by_procedure": procedure is not None,
    }
    rows: list[Row[Any]] = []
    if dated:
        statement = _page(dated=True, after=cursor is not None, **shape)
        rows = list(await session.execute(statement, {**parameters, "limit": limit + 1}))
    if len(rows) <= limit:
        # The undated tail: from its start once the dated part is used up.
        statement = _page(dated=False, after=not dated, **shape)
        rest = {**parameters, "limit": limit + 1 - len(rows)}
        rows += list(await session.execute(statement, rest))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(last.due_at.isoformat() if last.due_at else None, last.code)
    return rows, next_cursor, counts


def _instant(raw: object) -> datetime:
    """A cursor's due date: an instant with its offset, else the cursor is not ours."""
    try:
        value = datetime.fromisoformat(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise bad_cursor() from exc
    if value.utcoffset() is None:
        raise bad_cursor()
    return value


async def own(
    session: AsyncSession, *, applicant: str, status: str | None, cursor: str | None, limit: int
) -> tuple[list[Row[Any]], str | None]:
    """A citizen's dossiers, newest first."""
    statement = select(*SUMMARY_COLUMNS).where(Dossier.applicant == applicant)
    if status is not None:
        statement = statement.where(Dossier.status == status)
    if cursor is not None:
        raw_at, code = decode_cursor(cursor, 2)
        at = _instant(raw_at)
        statement = statement.where(
            tuple_(Dossier.submitted_at, Dossier.code)
            < tuple_(literal(at, Dossier.submitted_at.type), code)
        )
    statement = statement.order_by(Dossier.submitted_at.desc(), Dossier.code.desc())
    rows: list[Row[Any]] = list(await session.execute(statement.limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].submitted_at.isoformat(), rows[-1].code)
    return rows, next_cursor


async def load(
    session: AsyncSession, *, agency_code: str, since: datetime, now: datetime
) -> list[Row[Any]]:
    """Per officer holding dossiers of the agency: how many are open, due soon and
    overdue now, and how many they finished since ``since`` and how many of those late."""
    # Still to be worked on: not finished (a resolved dossier waits for the desk only).
    is_open = and_(Dossier.status.in_(OPEN_STATUSES), Dossier.finished_at.is_(None))
    finished = and_(Dossier.finished_at.is_not(None), Dossier.finished_at >= since)
    statement = (
        select(
            Dossier.assignee,
            func.count().filter(is_open).label("open"),
            func.count().filter(is_open, bucket_condition("due_soon", now)).label("due_soon"),
            func.count().filter(is_open, bucket_condition("overdue", now)).label("overdue"),
            func.count().filter(finished).label("finished"),
            func.count().filter(finished, Dossier.timeliness == "late").label("finished_late"),
        )
        .where(Dossier.agency_code == agency_code, Dossier.assignee.is_not(None))
        .where(or_(is_open, finished))
        .group_by(Dossier.assignee)
        .order_by(Dossier.assignee)
    )
    return list(await session.execute(statement))
