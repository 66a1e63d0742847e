from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from services.tracking import calendars, previews, stats
from services.tracking.config import TrackingSettings
from services.tracking.schemas import (
    CalendarEdit,
    CalendarOut,
    ChangeOut,
    ChangePreview,
    ChangeReport,
    DeadlineOut,
    IndexReport,
    PublicTimeliness,
    TimelinessReport,
)
from shared.access import Grant, allow
from shared.auth import Principal, Role, require_role
from shared.db import INT32_MAX, SessionDep
from shared.errors import Unprocessable
from shared.params import IsoDate, IsoDateTime
from shared.runtime import OutboxDep

router = APIRouter(prefix="/api/v1", tags=["calendars"])

CalendarKey = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9.\-]{1,40}$",
        description="An agency code (the calendar it follows) or a calendar code (national).",
    ),
]
AdminDep = Annotated[Principal, Depends(require_role(Role.ADMIN))]
MAX_WORKING_DAYS = 365


async def get_engines(request: Request) -> calendars.Engines:
    engines: calendars.Engines = request.app.state.engines
    return engines


EnginesDep = Annotated[calendars.Engines, Depends(get_engines)]


@router.get("/calendars/{key}", response_model=CalendarOut, **allow(Grant.PUBLIC))
async def read_calendar(
    session: SessionDep,
    key: CalendarKey,
    year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
) -> CalendarOut:
    """A calendar with what it inherits: sessions per weekday, days off, make-up days."""
    return await calendars.read(session, key=key, year=year)


@router.get(
    "/calendars/{key}/changes",
    response_model=list[ChangeOut],
    **allow(Grant.PUBLIC),
)
async def calendar_changes(session: SessionDep, key: CalendarKey) -> list[ChangeOut]:
    """Every version of the calendar and of those it inherits: who, when, which decision."""
    return await calendars.history(session, key=key)


@router.get(
    "/calendars/{key}/changes/{version}/report",
    response_model=ChangeReport,
    **allow(Grant.ADMIN),
)
async def calendar_change_report(
    session: SessionDep,
    _admin: AdminDep,
    key: CalendarKey,
    version: Annotated[int, Path(ge=1, le=INT32_MAX)],
) -> ChangeReport:
    """Every open dossier whose due date this version of the calendar moved, and how
    (admin: it lists dossiers of every agency on the calendar)."""
    return await calendars.change_report(session, key=key, version=version)


@router.get("/calendars/{key}/deadline", response_model=DeadlineOut, **allow(Grant.PUBLIC))
async def deadline(
    session: SessionDep,
    engines: EnginesDep,
    key: CalendarKey,
    start: Annotated[IsoDateTime, Query(description="ISO 8601 with its UTC offset")],
    working_days: Annotated[int | None, Query(ge=1, le=MAX_WORKING_DAYS)] = None,
    working_hours: Annotated[int | None, Query(ge=1, le=MAX_WORKING_DAYS * 8)] = None,
) -> DeadlineOut:
    """The due date of a duration in working days or hours from ``start``, explained."""
    if (working_days is None) == (working_hours is None):
        raise Unprocessable(
            "Cần đúng một trong hai: working_days hoặc working_hours.",
            errors=[
                {"pointer": "#/query/working_days", "message": "Cho một thời hạn."},
                {"pointer": "#/query/working_hours", "message": "Cho một thời hạn."},
            ],
        )
    return await calendars.deadline(
        session,
        engines,
        key=key,
        start=start,
        working_days=working_days,
        working_hours=working_hours,
    )


@router.post(
    "/calendars/{key}/changes",
    response_model=ChangeOut,
    status_code=201,
    tags=["calendars: admin"],
    **allow(Grant.ADMIN),
)
async def change_calendar(
    session: SessionDep,
    outbox: OutboxDep,
    admin: AdminDep,
    key: CalendarKey,
    edit: CalendarEdit,
) -> ChangeOut:
    """Change days or sessions on one decision (admin). An agency's first change gives it
    a calendar of its own over the one it follows."""
    return await calendars.change(session, outbox, key=key, edit=edit, by=admin.username)


@router.post(
    "/calendars/{key}/changes/preview",
    response_model=ChangePreview,
    tags=["calendars: admin"],
    **allow(Grant.ADMIN),
)
async def preview_change(
    request: Request,
    session: SessionDep,
    outbox: OutboxDep,
    admin: AdminDep,
    key: CalendarKey,
    edit: CalendarEdit,
) -> ChangePreview:
    """A change tried and rolled back (admin): the open dossiers whose due date it would
    move, from when to when, before anyone decides to make it. Nothing is kept."""
    settings: TrackingSettings = request.app.state.runtime.settings
    return await previews.preview(
        session, outbox, key=key, edit=edit, by=admin.username,
        due_soon_minutes=settings.due_soon_minutes,
    )  # fmt: skip


StatsReaderDep = Annotated[Principal, Depends(require_role(Role.ADMIN, Role.OFFICER))]
GroupBy = Literal["agency", "procedure", "field"]


STATS_READERS = allow(Grant.OFFICER, Grant.ADMIN)  # an officer reads their agencies'


@router.get(
    "/stats/timeliness",
    response_model=TimelinessReport,
    tags=["statistics"],
    **STATS_READERS,
)
async def timeliness(
    session: SessionDep,
    principal: StatsReaderDep,
    agency: Annotated[str | None, Query(max_length=40)] = None,
    procedure: Annotated[str | None, Query(max_length=40)] = None,
    field: Annotated[str | None, Query(max_length=40)] = None,
    start: Annotated[IsoDate | None, Query(alias="from")] = None,
    end: Annotated[IsoDate | None, Query(alias="to")] = None,
    group_by: GroupBy | None = None,
) -> TimelinessReport:
    """Early / on time / late among dossiers finished in the period (local dates,
    inclusive), and how open ones stand now; average resolution time per procedure."""
    return await stats.timeliness(
        session,
        principal=principal,
        agency=agency,
        procedure=procedure,
        field=field,
        start=start,
        end=end,
        group_by=group_by,
        now=datetime.now(UTC),
    )


@router.get(
    "/stats/public", response_model=PublicTimeliness, tags=["statistics"], **allow(Grant.PUBLIC)
)
async def public_timeliness(
    session: SessionDep,
    group_by: Literal["agency", "field"] = "agency",
    months: Annotated[int, Query(ge=1, le=24)] = 12,
) -> PublicTimeliness:
    """On-time rates of the dossiers finished each month, by agency or by field, for
    everyone: counts and rates only, nothing about a person or a dossier."""
    return await stats.public_timeliness(
        session, group_by=group_by, months=months, now=datetime.now(UTC)
    )


@router.get("/stats/index", response_model=IndexReport, tags=["statistics"], **STATS_READERS)
async def service_quality_index(
    session: SessionDep,
    principal: StatsReaderDep,
    agency: Annotated[str | None, Query(max_length=40)] = None,
    start: Annotated[IsoDate | None, Query(alias="from")] = None,
    end: Annotated[IsoDate | None, Query(alias="to")] = None,
) -> IndexReport:
    """The Decision 766/QĐ-TTg indicators the platform's data can answer, each with its
    formula and inputs; the others say what they lack."""
    return await stats.index(
        session, principal=principal, agency=agency, start=start, end=end, now=datetime.now(UTC)
    )
