"""Queue tallies: an agency's dossiers counted per status and per UTC day of their due
date and due-soon instant (``QueueTally``), so a queue's counts per timeliness are sums
over a few hundred rows, not a count over every open dossier (40,000 of those took
30-40 ms, bench/intake.py).

Triggers on ``dossiers`` keep the tallies (migration 0005) in the statement that
changes a dossier. Days long past only ever add up into "overdue", so a periodic job
folds them into one row per agency, status and kind (``day`` of ``NO_DAY``): the rows
a count reads stay proportional to the days ahead, not to the years behind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    ScalarSelect,
    Select,
    bindparam,
    delete,
    func,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.due_dates import NOT_DATED, PAUSED_STATUSES
from services.intake.machine import Status
from services.intake.models import Dossier, QueueTally

# The ``day`` of a ``status`` tally, and of the rows long-past days fold into.
NO_DAY = date(1970, 1, 1)
DATED_KINDS = ("due", "soon")


def _tallies_statement() -> Select[int, int, int, int, int, int, int, int]:
    """The counts' one statement, built once: constructing a statement this size on
    every request cost more CPU than running it (bench/RESULTS.md, queues)."""
    kind, day, status = QueueTally.kind, QueueTally.day, QueueTally.status
    received: BindParameter[list[str]] = bindparam("received", expanding=True)
    now: BindParameter[datetime] = bindparam("now")

    def total(*conditions: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(QueueTally.dossiers).filter(*conditions), 0)

    def exactly(*conditions: ColumnElement[bool]) -> ScalarSelect[int]:
        of_agency = (Dossier.agency_code == bindparam("agency"), Dossier.status.in_(received))
        return select(func.count()).where(*of_agency, *conditions).scalar_subquery()

    return select(
        total(kind == "status", status == Status.SUBMITTED.value),
        total(kind == "status", status.in_(bindparam("paused", expanding=True))),
        total(kind == "status", status == Status.RESOLVED.value),
        total(kind == "due", status.in_(received)),
        total(kind == "due", status.in_(received), day < bindparam("today")),
        total(kind == "soon", status.in_(received), day > bindparam("today")),
        exactly(Dossier.due_at >= bindparam("midnight"), Dossier.due_at < now),
        exactly(Dossier.due_soon_at > now, Dossier.due_soon_at < bindparam("tomorrow")),
    ).where(
        QueueTally.agency_code == bindparam("agency"),
        QueueTally.status.in_(bindparam("statuses", expanding=True)),
    )


_TALLIES = _tallies_statement()


async def tallied(
    session: AsyncSession, agency_code: str, statuses: Sequence[str], now: datetime
) -> dict[str, int]:
    """The counts per timeliness of an agency's dossiers in ``statuses``, from the tallies.

    Received dossiers whose clock runs split by their dates (a resolved one waits for the
    desk, its clock stopped: counted apart): overdue once the due date has passed, on
    track while the due-soon instant is ahead, due soon in between (the due-soon
    instant never follows the due date). Whole days before or after today come from
    the tallies; today's dossiers are counted by index, a day's worth at most.
    """
    today = now.astimezone(UTC).date()
    midnight = datetime.combine(today, time(), UTC)
    parameters = {
        "agency": agency_code,
        "statuses": list(statuses),
        "received": [s for s in statuses if s not in NOT_DATED],
        "paused": [s for s in statuses if s in PAUSED_STATUSES],
        "today": today,
        "midnight": midnight,
        "now": now,
        "tomorrow": midnight + timedelta(days=1),
    }
    row = (await session.execute(_TALLIES, parameters)).one()
    (not_received, waiting, resolved, with_dates, overdue_before, ahead_after, overdue_today,
     ahead_today) = (int(value) for value in row)  # fmt: skip
    overdue = overdue_before + overdue_today
    on_track = ahead_after + ahead_today
    return {
        "on_track": on_track,
        "due_soon": with_dates - overdue - on_track,
        "overdue": overdue,
        "paused": waiting,
        "not_received": not_received,
        "resolved": resolved,
    }


def _fold_upsert(insert: Any) -> Any:
    table: Any = QueueTally.__table__
    return (
        insert(table)
        .values(
            agency_code=bindparam("agency_code"),
            status=bindparam("status"),
            kind=bindparam("kind"),
            day=NO_DAY,
            dossiers=bindparam("dossiers"),
        )
        .on_conflict_do_update(
            index_elements=[table.c.agency_code, table.c.status, table.c.kind, table.c.day],
            set_={"dossiers": table.c.dossiers + bindparam("dossiers")},
        )
    )


_FOLD_UPSERTS = {
    "postgresql": _fold_upsert(postgresql.insert),
    "sqlite": _fold_upsert(sqlite.insert),
}


async def fold_past_days(session: AsyncSession, *, before: date) -> int:
    """Fold the dated tallies of days before ``before`` into their ``NO_DAY`` row, in
    the caller's transaction; how many rows went.

    Rows a dossier's change holds are skipped, not waited for (the next fold takes
    them), so folding never blocks a submission or an action, and cannot deadlock with
    one. The sums are of the rows deleted, as deleted: a past day's row a trigger
    recreates meanwhile waits for the next fold, nothing is counted twice or lost.
    """
    key = (QueueTally.agency_code, QueueTally.status, QueueTally.kind, QueueTally.day)
    past = select(*key).where(
        QueueTally.kind.in_(DATED_KINDS), QueueTally.day > NO_DAY, QueueTally.day < before
    )
    gone = await session.execute(
        delete(QueueTally)
        .where(tuple_(*key).in_(past.with_for_update(skip_locked=True)))
        .returning(QueueTally.agency_code, QueueTally.status, QueueTally.kind, QueueTally.dossiers)
    )
    sums: Counter[tuple[str, str, str]] = Counter()
    rows = 0
    for agency_code, status, kind, dossiers in gone:
        sums[agency_code, status, kind] += dossiers
        rows += 1
    folded = [
        {"agency_code": agency_code, "status": status, "kind": kind, "dossiers": dossiers}
        for (agency_code, status, kind), dossiers in sorted(sums.items())
    ]
    if folded:
        dialect = session.get_bind().dialect.name
        await session.execute(_FOLD_UPSERTS[dialect], folded)
    return rows
