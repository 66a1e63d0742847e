"""The leaders' dashboard (``/lanh-dao``): on-time rates of their agency by procedure,
by agency and by month, each chart with its table; the overdue dossiers; and the
service-quality index (Decision 766/QĐ-TTg) with each indicator's formula and inputs.
Every figure is the API's (``/api/v1/stats/*``, ``/api/v1/queues``)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from starlette.responses import Response

from services.web.api import forbidden
from services.web.pages.desk import Desk, working_time
from services.web.pages.public import agency_names
from services.web.routing import Pages
from services.web.visit import Visit
from shared.worktime import VIETNAM

router = Pages()
ZONE = ZoneInfo(VIETNAM)
OVERDUE_SHOWN = 20


@router.get("/lanh-dao")
async def dashboard(visit: Visit) -> Response:
    desk = Desk.of(visit)
    led = [code for code, position in desk.memberships.items() if position == "leader"]
    if not led:
        raise forbidden("Trang này dành cho lãnh đạo của cơ quan.")
    chosen = visit.request.query_params.get("co-quan", "")
    agency = chosen if chosen in led else led[0]
    today = datetime.now(ZONE).date()
    period = {"from": date(today.year, 1, 1).isoformat(), "to": today.isoformat()}
    agency_path = quote(agency, safe="")
    (
        by_procedure, by_agency, monthly, overdue, index, names, offered, load, officers,
        steps,
    ) = await asyncio.gather(
        visit.get("/api/v1/stats/timeliness", signed=True,
                  params={"agency": agency, "group_by": "procedure", **period}),
        visit.get("/api/v1/stats/timeliness", signed=True,
                  params={"group_by": "agency", **period}),
        visit.get("/api/v1/stats/public", params={"group_by": "agency", "months": 12}),
        visit.get(f"/api/v1/queues/{agency_path}", signed=True,
                  params={"timeliness": "overdue", "limit": OVERDUE_SHOWN}),
        visit.get("/api/v1/stats/index", signed=True, params={"agency": agency, **period}),
        agency_names(visit),
        visit.get("/api/v1/procedures", params={"agency": agency, "size": 100}),
        visit.get(f"/api/v1/queues/{agency_path}/load", signed=True,
                  params={"from": period["from"]}),
        visit.get(f"/api/v1/agencies/{agency_path}/officers", signed=True),
        visit.get(f"/api/v1/queues/{agency_path}/steps", signed=True,
                  params={"from": period["from"]}),
    )  # fmt: skip
    months = next((row for row in monthly["rows"] if row["key"] == agency), None)
    return visit.render(
        "leaders.html", desk=desk, agency=agency, led=led, period=period,
        by_procedure=by_procedure, by_agency=by_agency, months=months,
        month_names=monthly["months"], overdue=overdue, index=index,
        agency_names=names,
        procedure_names={p["code"]: p["name"] for p in offered["items"]},
        load=load, officers={o["id"]: o for o in officers}, steps=steps,
        working_time=working_time,
    )  # fmt: skip
