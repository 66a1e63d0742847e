"""The officers' desk: their agency's queue, a dossier's page, and its actions.

Everything an officer may do comes from the API: the queue from
``/api/v1/queues/{agency}``, what they may do on a dossier from its
``allowed_actions`` (the status machine decides, not these pages), whom to assign it to
from ``/api/v1/agencies/{code}/officers``. Each action asks for what the law asks for,
is confirmed before it is taken, and ends on the dossier with the slip to print.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from starlette.datastructures import QueryParams, UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import Response

from services.web import eform
from services.web.api import ApiError, forbidden
from services.web.pages.dossiers import (
    CURSOR_LIMIT,
    SLIPS,
    document_link,
    dossier_path,
    slip_pdf,
    slips_of,
)
from services.web.pages.public import agency_names
from services.web.pages.submission import KEY_FIELD
from services.web.rendering import POSITION_LABELS
from services.web.routing import Pages
from services.web.visit import Visit
from shared.contracts.actions import FINAL, STATUS_LABELS, Status
from shared.contracts.dossiers import TIMELINESS_LABELS
from shared.contracts.dossiers import Timeliness as T

router = Pages()

DESK = "/can-bo"
QUEUE_SIZE = 20
# The procedures the queue's filter lists (the catalogue's largest page); beyond that
# many, the filter takes a typed code.
FILTER_CHOICES = 100
PROCEDURE_CODE = re.compile(r"[A-Za-z0-9.\-]{1,40}")  # what the queue API takes
# The queue's timeliness filters, in the order an officer works them, by the labels
# every client reads (and the queue's own bucket of dossiers not received yet).
TIMELINESS_FILTERS = {
    **{t.value: TIMELINESS_LABELS[t] for t in (T.OVERDUE, T.DUE_SOON, T.ON_TRACK, T.PAUSED)},
    "not_received": "Chờ tiếp nhận",
    "resolved": "Chờ trả kết quả",
}
# The statuses a queue holds (the open ones).
STATUS_FILTERS = {status.value: STATUS_LABELS[status] for status in Status if status not in FINAL}
# The slip an action leaves to print or hand over.
SLIP_AFTER = {
    "receive": "receipt",
    "request-supplement": "supplement",
    "refuse": "refusal",
    "apologize": "apology",
    "assign": "control",
    "forward": "control",
    "complete-step": "control",
    "resolve": "control",
    "return": "control",
}
DESK_SLIPS = {**SLIPS, "control": "Phiếu kiểm soát quá trình giải quyết hồ sơ"}
CHANNELS = {"online": "Nộp trực tuyến", "counter": "Nộp tại quầy", "post": "Nộp qua bưu chính"}
# Open to a desk for a walk-in without an account, but without a form here yet: the
# papers of a supplement are taken in with counter filing.
NO_FORM = {"supplement"}


@dataclass(frozen=True)
class Desk:
    """The logged-in officer: who, and their agencies with their position in each."""

    id: str
    username: str
    memberships: dict[str, str]  # agency code -> position

    @classmethod
    def of(cls, visit: Visit) -> Desk:
        """From the login's token (what ``/api/v1/auth/me`` would echo, without a call)."""
        visit.require_login()
        account = visit.account
        if account is None or account.role != "officer" or not account.agencies:
            raise forbidden("Trang này dành cho cán bộ của cơ quan.")
        return cls(account.subject, account.username, dict(account.agencies))


@dataclass(frozen=True)
class QueueView:
    """The queue as its address carries it (a link or a refresh keeps the place)."""

    agency: str
    status: str
    timeliness: str
    procedure: str
    mine: bool
    cursor: str

    @classmethod
    def of(cls, query: QueryParams, desk: Desk) -> QueueView:
        agency = query.get("co-quan", "")
        status = query.get("trang-thai", "")
        timeliness = query.get("tien-do", "")
        procedure = query.get("thu-tuc", "").strip()
        return cls(
            agency=agency if agency in desk.memberships else next(iter(desk.memberships)),
            status=status if status in STATUS_FILTERS else "",
            timeliness=timeliness if timeliness in TIMELINESS_FILTERS else "",
            procedure=procedure if PROCEDURE_CODE.fullmatch(procedure) else "",
            mine=query.get("cua-toi") == "1",
            cursor=query.get("sau", "")[:CURSOR_LIMIT],
        )

    def api_params(self) -> dict[str, str | int]:
        params: dict[str, str | int] = {"limit": QUEUE_SIZE}
        for name, value in (("status", self.status), ("timeliness", self.timeliness),
                            ("procedure", self.procedure), ("cursor", self.cursor)):  # fmt: skip
            if value:
                params[name] = value
        if self.mine:
            params["assignee"] = "me"
        return params

    def link(self, **changes: str | bool) -> str:
        """This queue's address with ``changes`` (a new filter starts at the first page)."""
        values: dict[str, str | bool] = {
            "co-quan": self.agency, "trang-thai": self.status, "tien-do": self.timeliness,
            "thu-tuc": self.procedure, "cua-toi": self.mine, "sau": self.cursor,
        }  # fmt: skip
        if any(name != "sau" for name in changes):
            values["sau"] = ""
        values.update({name.replace("_", "-"): value for name, value in changes.items()})
        query = {k: ("1" if v is True else v) for k, v in values.items() if v}
        return DESK + ("?" + urlencode(query) if query else "")


def working_time(minutes: float | None) -> str:
    """Working time as an officer reads it: ``còn 2 ngày 3 giờ`` or ``quá 4 giờ``
    (a working day is 8 hours)."""
    if minutes is None:
        return ""
    hours = round(abs(minutes) / 60)
    days, hours = divmod(hours, 8)
    parts = ([f"{days} ngày"] if days else []) + ([f"{hours} giờ"] if hours or not days else [])
    amount = " ".join(parts) if abs(minutes) >= 30 else "dưới 1 giờ"
    return ("quá " if minutes < 0 else "còn ") + amount


@router.get(DESK)
async def queue(visit: Visit) -> Response:
    desk = Desk.of(visit)
    view = QueueView.of(visit.request.query_params, desk)
    agency_path = quote(view.agency, safe="")
    listed = visit.get(f"/api/v1/queues/{agency_path}", signed=True, params=view.api_params())
    forwarded: dict[str, Any] | None = None
    try:
        if view.cursor or visit.partial:
            page = await listed
        else:  # the first page also shows what other agencies forwarded to this one
            page, forwarded = await asyncio.gather(
                listed, visit.get(f"/api/v1/queues/{agency_path}/steps", signed=True)
            )
    except ApiError as error:
        if error.status != 422 or not view.cursor:
            raise
        # A cursor from an older page the queue no longer knows: start again at the top.
        return visit.redirect(view.link(sau=""))
    names, (procedures, all_listed), officers = await asyncio.gather(
        agency_names(visit), offered(visit, view.agency), officer_names(visit, view.agency)
    )
    if any(row["assignee"] not in officers for row in page["items"] if row["assignee"]):
        # Held by an officer the kept names do not know yet (made within the minute).
        visit.web.reference.forget(f"officers:{view.agency}")
        officers = await officer_names(visit, view.agency)
    context = {
        "desk": desk,
        "view": view,
        "page": page,
        "forwarded": forwarded,
        "all_agency_names": names,
        "agency_names": {code: names.get(code, code) for code in desk.memberships},
        "procedures": procedures,
        "procedures_listed": all_listed,
        "officer_names": officers,
        "timeliness_filters": TIMELINESS_FILTERS,
        "status_filters": STATUS_FILTERS,
        "position_labels": POSITION_LABELS,
        "working_time": working_time,
    }
    if visit.partial:
        return visit.render("_desk_rows.html", **context)
    return visit.render("desk_queue.html", **context)


async def offered(visit: Visit, agency: str) -> tuple[dict[str, str], bool]:
    """The procedures the agency's desk offers, name by code, for the queue's filter, and
    whether that is all of them: a province's centre offers thousands, and then the
    filter takes a typed code with the first ones as suggestions. Kept a minute with
    the catalogue's other lists."""

    async def load() -> tuple[dict[str, str], bool]:
        params = {"agency": agency, "size": FILTER_CHOICES}
        listed = await visit.get("/api/v1/procedures", params=params)
        names = {item["code"]: item["name"] for item in listed["items"]}
        return names, listed["total"] <= len(names)

    found: tuple[dict[str, str], bool] = await visit.web.reference.get(f"offered:{agency}", load)
    return found


async def officer_names(visit: Visit, agency: str) -> dict[str, str]:
    """The agency's officers' names by id, for the queue's "held by" column, kept a
    minute like the catalogue's lists. Only asked once the queue call has let this officer
    read the agency's queue: the API checks the membership on every page, the names kept
    here are shown only after it has."""

    async def load() -> dict[str, str]:
        path = f"/api/v1/agencies/{quote(agency, safe='')}/officers"
        return {item["id"]: item["full_name"] for item in await visit.get(path, signed=True)}

    found: dict[str, str] = await visit.web.reference.get(f"officers:{agency}", load)
    return found


def desk_path(code: str) -> str:
    return f"{DESK}/ho-so/{quote(code, safe='')}"


async def dossier_context(visit: Visit, code: str) -> dict[str, Any]:
    """What the officer's page of a dossier shows; a 404 from the API ends it."""
    path = dossier_path(code)
    dossier = await visit.get(path, signed=True)
    procedure_path = (f"/api/v1/procedures/{quote(dossier['procedure_code'], safe='')}"
                      f"/versions/{dossier['procedure_version']}")  # fmt: skip
    steps, appointment, procedure, names = await asyncio.gather(
        visit.get(f"{path}/history", signed=True),
        visit.get(f"{path}/appointment", signed=True),
        visit.get(procedure_path),
        agency_names(visit),
    )
    schema = procedure.get("eform_schema") or {}
    required = procedure.get("required_documents") or []
    documents = [{**document, "name": requirement_name(required, document["requirement"])}
                 for document in dossier["documents"]]  # fmt: skip
    # The API offers only what this officer may do now (a citizen's own steps only for a
    # walk-in, cash at the counter to the desk).
    offered = [a for a in dossier["allowed_actions"] if a["action"] not in NO_FORM]
    try:
        officers = await visit.get(
            f"/api/v1/agencies/{quote(dossier['agency_code'], safe='')}/officers", signed=True
        )
    except ApiError as error:
        if error.status != 404:
            raise
        officers = []  # a forwarded-to agency's officer: the handling agency's are not theirs
    return {
        "dossier": dossier,
        "officers": officers,
        "officer_names": {o["id"]: o["full_name"] for o in officers},
        "channels": CHANNELS,
        "desk_slips": DESK_SLIPS,
        "fields": eform.build(schema, dossier["applicant"]) if schema else [],
        "documents": documents,
        "history": steps,
        "appointment": appointment,
        "agency_names": names,
        "actions": offered,
        "slips": slips_of(dossier, DESK_SLIPS),
        "position_labels": POSITION_LABELS,
        "working_time": working_time,
    }


def requirement_name(required: list[dict[str, Any]], index: int) -> str:
    """A document's name from the procedure's list of required documents."""
    return required[index]["name"] if index < len(required) else f"Giấy tờ số {index + 1}"


@router.get(DESK + "/ho-so/{code}")
async def dossier_page(visit: Visit, code: str) -> Response:
    desk = Desk.of(visit)
    context = await dossier_context(visit, code)
    done = visit.request.query_params.get("xong", "")
    return visit.render("desk_dossier.html", desk=desk, done=done,
                        done_slip=SLIP_AFTER.get(done), **context)  # fmt: skip


@router.get(DESK + "/ho-so/{code}/phieu/{kind}")
async def slip(visit: Visit, code: str, kind: str) -> Response:
    """A slip's PDF to print (the control slip too, which only officers see)."""
    return await slip_pdf(visit, code, kind, DESK_SLIPS)


@router.get(DESK + "/giay-to/{document_id}")
async def document(visit: Visit, document_id: str) -> Response:
    """A document of a dossier (the citizen sees who took it)."""
    return await document_link(visit, document_id)


# -- actions ---------------------------------------------------------------------------


async def action_page(
    visit: Visit,
    code: str,
    action: str,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    confirming: bool = False,
    status: int = 200,
) -> Response:
    """The action's form (or its confirmation), or 404 when it is not open to this
    officer now (the API's allowed_actions)."""
    desk = Desk.of(visit)
    context = await dossier_context(visit, code)
    offered = {a["action"]: a for a in context["actions"]}
    if action not in offered:
        raise HTTPException(404)
    return visit.render(
        "desk_action.html", status=status, desk=desk, action=offered[action], values=values or {},
        errors=errors or {}, message=message, confirming=confirming, **context,
    )  # fmt: skip


@router.get(DESK + "/ho-so/{code}/thao-tac/{action}")
async def action_form(visit: Visit, code: str, action: str) -> Response:
    return await action_page(visit, code, action)


@router.post(DESK + "/ho-so/{code}/thao-tac/{action}")
async def take_action(visit: Visit, code: str, action: str) -> Response:
    """Two steps: the form comes back to be confirmed, then the confirmed form is sent."""
    form = await visit.form()
    values = {name: value for name, value in form.items() if isinstance(value, str)}
    if form.get("sua") == "1":  # back from the confirmation to the form, as it was
        return await action_page(visit, code, action, values=values)
    errors = missing_values(action, values)
    if errors:
        return await action_page(visit, code, action, values=values, errors=errors, status=422)
    if action == "resolve" and not values.get("result_ids"):
        values["result_ids"] = ",".join(await issue_results(visit, code, visit.uploads("ket_qua")))
        if not values["result_ids"]:
            errors = {"ket_qua": "Hãy tải lên văn bản kết quả."}
            return await action_page(visit, code, action, values=values, errors=errors, status=422)
    if form.get("xac_nhan") != "1":
        # The confirmed form carries one Idempotency-Key: sent twice (a double click, a
        # retry after a lost answer), the action is done once.
        values.setdefault(KEY_FIELD, str(uuid.uuid4()))
        return await action_page(visit, code, action, values=values, confirming=True)
    key = {"idempotency-key": values[KEY_FIELD][:64]} if values.get(KEY_FIELD) else {}
    try:
        await visit.send(
            "POST", f"{dossier_path(code)}/actions/{action}", json=body_of(action, values),
            headers=key,
        )  # fmt: skip
    except ApiError as error:
        if not error.refused:
            raise
        return await action_page(visit, code, action, values=values, message=error.message(),
                                 status=error.status)  # fmt: skip
    return visit.redirect(f"{desk_path(code)}?xong={quote(action)}")


# What each action's form must carry before it is confirmed (the API checks it again).
REQUIRED = {
    "refuse": ("reason",),
    "request-supplement": ("missing",),
    "forward": ("to_agency_code", "budget_hours"),
    "apologize": ("new_due_at", "reason"),
    "withdraw": ("reason",),
    "stop": ("reason",),
    "pay": ("payment_reference",),
    "request-withdrawal": ("reason",),
    "complete-step": ("note",),
}
MISSING = "Trường này là bắt buộc."


NEW_DUE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$")  # a datetime-local field


def missing_values(action: str, values: dict[str, str]) -> dict[str, str]:
    """What is wrong with the form, by field, before anything is sent."""
    errors = {
        name: MISSING for name in REQUIRED.get(action, ()) if not values.get(name, "").strip()
    }
    reason = values.get("reason", "").strip()
    if "reason" not in errors and reason and len(reason) < 3:
        errors["reason"] = "Cần ít nhất 3 ký tự."
    for name, kind in (("budget_hours", float), ("amount_vnd", int)):
        raw = values.get(name, "").strip()
        if raw and number(raw, kind) is None:
            errors[name] = "Phải là một số dương."
    if values.get("counts_late") == "1" and values.get("confirm_counted_late") != "1":
        # The form says the action counts the dossier late (the API refuses it unconfirmed).
        errors["confirm_counted_late"] = "Hãy xác nhận đã biết hồ sơ sẽ bị tính trễ hạn."
    due = values.get("new_due_at", "").strip()
    if due and not NEW_DUE.match(due):
        errors["new_due_at"] = "Ngày giờ không hợp lệ."
    return errors


def number(raw: str, kind: type[int] | type[float]) -> int | float | None:
    """A positive amount as an officer types it (``135.000``, ``1,5``); None otherwise."""
    text = raw.replace(" ", "")
    text = text.replace(".", "") if kind is int else text.replace(",", ".")
    try:
        value = kind(text)
    except ValueError:
        return None
    return value if value > 0 else None


def body_of(action: str, values: dict[str, str]) -> dict[str, Any]:
    """The API's body for the confirmed form."""
    body: dict[str, Any] = {}
    for name in ("reason", "note", "assignee", "to_agency_code", "payment_reference"):
        if value := values.get(name, "").strip():
            body[name] = value
    if action == "request-supplement":
        body["missing"] = [line.strip() for line in values["missing"].splitlines() if line.strip()]
    if values.get("budget_hours"):
        body["budget_hours"] = number(values["budget_hours"], float)
    if values.get("amount_vnd"):
        body["amount_vnd"] = number(values["amount_vnd"], int)
    if values.get("new_due_at"):
        body["new_due_at"] = values["new_due_at"] + ":00+07:00"
    if values.get("result_ids"):
        body["result_documents"] = values["result_ids"].split(",")
    if values.get("confirm_counted_late") == "1":
        body["confirm_counted_late"] = True
    return body


async def issue_results(visit: Visit, code: str, files: list[UploadFile]) -> list[str]:
    """The result documents, stored for the citizen (they appear in their wallet)."""
    dossier = await visit.get(dossier_path(code), signed=True)
    ids = []
    for file in files:
        if not file.filename:
            continue
        sent = (file.filename, await file.read(), file.content_type or "")
        data = {"dossier_code": code, "agency_code": dossier["agency_code"]}
        if dossier["applicant_account"]:
            data["owner"] = dossier["applicant_account"]
        stored = await visit.send("POST", "/api/v1/documents/results", files={"file": sent},
                                  data=data)  # fmt: skip
        ids.append(str(stored["id"]))
    return ids
