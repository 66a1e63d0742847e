"""The admins' agencies: the list, a new agency by its national code, an agency's name,
level, parent, address and calendar, and the procedures its desk offers (kept or
removed one by one, added by code). The rules are the procedures service's
(``/api/v1/agencies``); a refusal comes back at the field it names."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from services.web.api import ApiError
from services.web.pages.admin import require_admin
from services.web.routing import Pages
from services.web.visit import Visit

router = Pages()

AGENCIES = "/quan-tri/co-quan"
LEVELS = {"province": "Cấp tỉnh", "commune": "Cấp xã", "ministry": "Cấp bộ"}
EDITED = ("name", "level", "parent_code", "address", "calendar_code")
CODES = re.compile(r"[A-Za-z0-9.\-]+")


def agency_path(code: str) -> str:
    return f"/api/v1/agencies/{quote(code, safe='')}"


def body_of(form: Any, *, with_code: bool) -> dict[str, Any]:
    """The API's body from the form: empty optional fields left out."""
    names = ("code", *EDITED) if with_code else EDITED
    values = {name: str(form.get(name, "")).strip() for name in names}
    return {name: value for name, value in values.items()
            if value or name in ("name", "code", "level")}  # fmt: skip


async def listing(visit: Visit) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await visit.get("/api/v1/agencies")
    return found


@router.get(AGENCIES)
async def agencies_page(visit: Visit) -> Response:
    await require_admin(visit)
    return visit.render("admin_agencies.html", agencies=await listing(visit), levels=LEVELS,
                        values={}, errors={}, agency=None, message=None)  # fmt: skip


@router.post(AGENCIES)
async def create(visit: Visit) -> Response:
    await require_admin(visit)
    form = await visit.form()
    body = body_of(form, with_code=True)
    try:
        made = await visit.send("POST", "/api/v1/agencies", json=body)
    except ApiError as error:
        if not error.refused:
            raise
        return visit.render(
            "admin_agencies.html", status=error.status, agencies=await listing(visit),
            levels=LEVELS, values=body, errors=error.field_errors(), message=error.message(),
            agency=None,
        )  # fmt: skip
    return visit.redirect(f"{AGENCIES}/{quote(made['code'], safe='')}?xong=tao")


async def render_agency(
    visit: Visit, code: str, *, status: int = 200, values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None, message: str | None = None,
) -> Response:  # fmt: skip
    agency = await visit.get(agency_path(code))
    offered = await visit.get(agency_path(code) + "/procedures")
    names = {p["code"]: p["name"] for p in await offered_in_force(visit, code)}
    return visit.render(
        "admin_agency.html", status=status, agency=agency, values=values or agency,
        errors=errors or {}, message=message, levels=LEVELS, offered=offered, names=names,
        agencies=await listing(visit), done=visit.request.query_params.get("xong"),
    )  # fmt: skip


async def offered_in_force(visit: Visit, code: str) -> list[dict[str, Any]]:
    """The offered procedures in force, to name them (withdrawn ones show by code)."""
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        listed = await visit.get("/api/v1/procedures",
                                 params={"agency": code, "page": page, "size": 100})  # fmt: skip
        found += listed["items"]
        if len(found) >= listed["total"] or not listed["items"]:
            return found
        page += 1


@router.get(AGENCIES + "/{code}")
async def agency_page(visit: Visit, code: str) -> Response:
    await require_admin(visit)
    return await render_agency(visit, code)


@router.post(AGENCIES + "/{code}")
async def agency_posted(visit: Visit, code: str) -> Response:
    await require_admin(visit)
    form = await visit.form()
    if form.get("thao_tac") == "thu-tuc":
        kept = visit.ticked("giu")
        added = CODES.findall(str(form.get("them", "")))
        method, path = "PUT", agency_path(code) + "/procedures"
        body: dict[str, Any] = {"procedures": list(dict.fromkeys([*kept, *added]))}
        done = "thu-tuc"
    else:
        method, path, body, done = "PUT", agency_path(code), body_of(form, with_code=False), "luu"
    try:
        await visit.send(method, path, json=body)
    except ApiError as error:
        if not error.refused:
            raise
        errors = error.field_errors()
        if done == "thu-tuc":  # an unknown code: said beside the field it was typed in
            errors = {"/them": error.message()} if errors else {}
        return await render_agency(visit, code, status=error.status, errors=errors,
                                   values=body if done == "luu" else None,
                                   message=error.message())  # fmt: skip
    return visit.redirect(f"{AGENCIES}/{quote(code, safe='')}?xong={done}")
