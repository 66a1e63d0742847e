"""The admins' pages: officers' accounts (``/api/v1/admin/officers``): made with a
one-time password shown once, their agencies and positions, deactivation, a new
one-time password, and what was done to each account."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from services.web.api import ApiError, forbidden
from services.web.pages.public import agency_names
from services.web.rendering import POSITION_LABELS
from services.web.routing import Pages
from services.web.visit import Visit

router = Pages()
OFFICERS = "/quan-tri/can-bo"
EVENT_LABELS = {
    "officer.created": "Tạo tài khoản",
    "officer.memberships_changed": "Đổi cơ quan, chức danh",
    "officer.deactivated": "Ngừng hoạt động",
    "officer.activated": "Cho hoạt động lại",
    "officer.password_reset": "Cấp mật khẩu một lần mới",
    "account.password_changed": "Cán bộ tự đặt mật khẩu",
    "account.taken_over": "Tài khoản được VNeID xác thực",
}


async def require_admin(visit: Visit) -> None:
    visit.require_login()
    account = visit.account
    if account is None or account.role != "admin":
        raise forbidden("Trang này dành cho quản trị viên.")


def officer_path(officer_id: str) -> str:
    return f"/api/v1/admin/officers/{quote(officer_id, safe='')}"


async def render_officers(
    visit: Visit, *, values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
    message: str | None = None, issued: dict[str, Any] | None = None, status: int = 200,
) -> Response:  # fmt: skip
    officers = await visit.get("/api/v1/admin/officers", signed=True)
    return visit.render(
        "admin_officers.html", status=status, officers=officers,
        agency_names=await agency_names(visit),
        position_labels=POSITION_LABELS, values=values or {}, errors=errors or {},
        message=message, issued=issued,
    )  # fmt: skip


@router.get(OFFICERS)
async def officers_page(visit: Visit) -> Response:
    await require_admin(visit)
    return await render_officers(visit)


@router.post(OFFICERS)
async def create_officer(visit: Visit) -> Response:
    """A new officer; the page shows their one-time password this once."""
    await require_admin(visit)
    form = await visit.form()
    values = {name: str(form.get(name, "")).strip()[:200]
              for name in ("username", "full_name", "agency_code", "position")}  # fmt: skip
    body = {
        "username": values["username"],
        "full_name": values["full_name"],
        "memberships": [{"agency_code": values["agency_code"], "position": values["position"]}],
    }
    try:
        issued = await visit.send("POST", "/api/v1/admin/officers", json=body)
    except ApiError as error:
        if not error.refused:
            raise
        errors = {key.replace("/memberships/0/", "/"): text
                  for key, text in error.field_errors().items()}  # fmt: skip
        if error.status == 409:
            errors["/username"] = error.detail or "Tên đăng nhập đã có."
        return await render_officers(visit, values=values, errors=errors, status=error.status,
                                     message=error.detail or error.title)  # fmt: skip
    return await render_officers(visit, issued=issued, status=201)


async def render_officer(
    visit: Visit, officer_id: str, *, message: str | None = None,
    issued: dict[str, Any] | None = None, status: int = 200,
) -> Response:  # fmt: skip
    path = officer_path(officer_id)
    officer = await visit.get(path, signed=True)
    events = await visit.get(f"{path}/events", signed=True)
    return visit.render(
        "admin_officer.html", status=status, officer=officer, events=events,
        agency_names=await agency_names(visit),
        position_labels=POSITION_LABELS, event_labels=EVENT_LABELS, message=message,
        issued=issued,
    )  # fmt: skip


@router.get(OFFICERS + "/{officer_id}")
async def officer_page(visit: Visit, officer_id: str) -> Response:
    await require_admin(visit)
    return await render_officer(visit, officer_id)


@router.post(OFFICERS + "/{officer_id}/co-quan")
async def set_memberships(visit: Visit, officer_id: str) -> Response:
    """The whole list: each row kept unless ticked off, and the new row if filled."""
    await require_admin(visit)
    form = await visit.form()
    memberships = []
    for index in range(50):
        code = str(form.get(f"agency_{index}", ""))
        if not code:
            break
        if form.get(f"remove_{index}") != "1":
            memberships.append(
                {"agency_code": code, "position": str(form.get(f"position_{index}"))}
            )
    added = str(form.get("new_agency", ""))
    if added:
        memberships.append({"agency_code": added, "position": str(form.get("new_position", ""))})
    return await change(visit, officer_id, "PUT", "memberships", {"memberships": memberships})


async def change(
    visit: Visit, officer_id: str, method: str, action: str, body: dict[str, Any] | None = None
) -> Response:
    try:
        answer = await visit.send(method, f"{officer_path(officer_id)}/{action}", json=body)
    except ApiError as error:
        if not error.refused:
            raise
        return await render_officer(visit, officer_id, message=error.message(),
                                    status=error.status)  # fmt: skip
    if action == "reset-password":
        return await render_officer(visit, officer_id, issued=answer)
    return visit.redirect(f"{OFFICERS}/{quote(officer_id, safe='')}")


@router.post(OFFICERS + "/{officer_id}/trang-thai")
async def set_active(visit: Visit, officer_id: str) -> Response:
    await require_admin(visit)
    form = await visit.form()
    return await change(visit, officer_id, "POST",
                        "activate" if form.get("active") == "1" else "deactivate")  # fmt: skip


@router.post(OFFICERS + "/{officer_id}/mat-khau")
async def reset_password(visit: Visit, officer_id: str) -> Response:
    await require_admin(visit)
    await visit.form()
    return await change(visit, officer_id, "POST", "reset-password")


# -- calendars ------------------------------------------------------------------------

CALENDARS = "/quan-tri/lich"
DAY_KINDS = {
    "agency": "Ngày nghỉ riêng của cơ quan",
    "holiday": "Ngày lễ, Tết",
    "compensatory": "Nghỉ bù",
    "swapped": "Nghỉ hoán đổi",
    "weekend": "Thứ Bảy, Chủ nhật trong kỳ nghỉ",
}
DAY_TYPES = {
    "off": "Ngày nghỉ",
    "work": "Ngày làm việc (làm bù)",
    "enable": "Áp dụng ngày đang chờ",
    "remove": "Bỏ ngày riêng của lịch này",
}
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
WEEK_FIELDS = tuple(f"tuan_{day}" for day in range(7))
CALENDAR_FIELDS = ("agency", "day", "type", "name", "kind", "decision", "thay_doi", *WEEK_FIELDS)
SESSION = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


def calendar_edit(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The change API's body (one day, or the week's sessions), and what is wrong with the
    form before it is sent."""
    week = values.get("thay_doi") == "tuan"
    kind = values.get("type", "off")
    named = not week and kind in ("off", "work")
    required = ("agency", "decision", *(() if week else ("day",)), *(("name",) if named else ()))
    errors = {f"/{name}": "Trường này là bắt buộc." for name in required if not values.get(name)}
    if values.get("decision") and len(values["decision"]) < 3:
        errors["/decision"] = "Ghi số, ngày của văn bản quyết định."
    body: dict[str, Any] = {"decision": values.get("decision", "")}
    if week:
        body["week"] = {}
        for weekday, field in enumerate(WEEK_FIELDS):
            sessions = sessions_of(values.get(field, ""))
            if sessions is None:
                errors[f"/{field}"] = "Ghi các buổi như 07:30-11:30, 13:00-17:00."
            else:
                body["week"][str(weekday)] = sessions
        return body, errors
    edit: dict[str, Any] = {"day": values.get("day", "")}
    if kind in ("enable", "remove"):
        edit["action"] = kind
    else:
        edit.update(working=kind == "work", name=values.get("name", ""))
        if kind != "work":
            edit["kind"] = values.get("kind") if values.get("kind") in DAY_KINDS else "agency"
    body["days"] = [edit]
    return body, errors


def sessions_of(text: str) -> list[dict[str, str]] | None:
    """``07:30-11:30, 13:00-17:00`` as the API's sessions; empty: a day off; None if it
    does not read (the API checks that they fit in a day and do not overlap)."""
    sessions = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        found = SESSION.match(part)
        if found is None:
            return None
        start_h, start_m, end_h, end_m = found.groups()
        sessions.append(
            {"start": f"{int(start_h):02d}:{start_m}", "end": f"{int(end_h):02d}:{end_m}"}
        )
    return sessions


def week_text(week: dict[str, list[dict[str, str]]]) -> dict[str, str]:
    """A calendar's week as the form's fields show it."""
    return {
        f"tuan_{day}": ", ".join(f"{s['start'][:5]}-{s['end'][:5]}" for s in week.get(str(day), []))
        for day in range(7)
    }


async def render_calendars(
    visit: Visit, *, values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
    preview: dict[str, Any] | None = None, made: dict[str, Any] | None = None,
    message: str | None = None, status: int = 200,
) -> Response:  # fmt: skip
    values = values or {"type": "off", "kind": "agency"}
    agency = values.get("agency") or visit.request.query_params.get("co-quan", "")
    names = await agency_names(visit)
    calendar = None
    if agency in names:
        answer = await visit.call("GET", f"/api/v1/calendars/{quote(agency, safe='')}")
        if answer.status_code == 200:  # else tracking has not heard of a new agency yet
            calendar = answer.json()
            values = {"agency": agency, **week_text(calendar["week"]), **values}
        elif answer.status_code != 404:
            raise ApiError.of(answer)
    return visit.render(
        "admin_calendars.html", status=status, values=values,
        errors=errors or {}, preview=preview, made=made, message=message,
        agency_names=names, day_kinds=DAY_KINDS, day_types=DAY_TYPES, calendar=calendar,
        weekdays=WEEKDAYS,
        pending=[d for d in (calendar or {}).get("days", []) if d["status"] == "pending"],
    )  # fmt: skip


@router.get(CALENDARS)
async def calendars_page(visit: Visit) -> Response:
    await require_admin(visit)
    return await render_calendars(visit)


@router.post(CALENDARS)
async def change_calendar(visit: Visit) -> Response:
    """First a preview (the dossiers it would move), then, confirmed, the change."""
    await require_admin(visit)
    form = await visit.form()
    values = {name: str(form.get(name, "")).strip()[:1000] for name in CALENDAR_FIELDS}
    body, errors = calendar_edit(values)
    if errors:
        return await render_calendars(visit, values=values, errors=errors, status=422)
    path = f"/api/v1/calendars/{quote(values['agency'], safe='')}/changes"
    # Saved only as it was previewed: a field changed after the preview previews again.
    seen = fingerprint(values["agency"], body)
    confirmed = form.get("xem_truoc") == seen
    try:
        answer = await visit.send("POST", path if confirmed else f"{path}/preview", json=body)
    except ApiError as error:
        if not error.refused:
            raise
        found = {re.sub(r"^/(days/0|week)/?", "/", key) or "/": text
                 for key, text in error.field_errors().items()}  # fmt: skip
        return await render_calendars(visit, values=values, errors=found, status=error.status,
                                      message=error.detail or error.title)  # fmt: skip
    if confirmed:
        return await render_calendars(visit, made=answer, status=201)
    return await render_calendars(visit, values=values, preview={**answer, "fingerprint": seen})


def fingerprint(agency: str, body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps([agency, body], sort_keys=True).encode()).hexdigest()[:32]
