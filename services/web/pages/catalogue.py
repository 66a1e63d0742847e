"""The admins' catalogue: a procedure's draft edited (started from the version in force),
checked as publishing would check it with each problem shown at its field, published
with the date it takes effect, and a procedure withdrawn from the catalogue. Every rule
is the procedures service's (``/api/v1/procedures/{code}/draft`` and its neighbours);
the page only carries the form to it and its answers back.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from services.web.api import ApiError
from services.web.pages.admin import require_admin
from services.web.pages.public import fields
from services.web.routing import Pages
from services.web.visit import Visit

router = Pages()

CATALOGUE = "/quan-tri/thu-tuc"
# What one published version says beyond its content (ProcedureOut minus the content).
NOT_CONTENT = ("version", "status", "effective_date", "published_at", "offered_by")
ONLINE_LEVELS = {"full": "Toàn trình", "partial": "Một phần", "none": "Không trực tuyến"}
TIME_UNITS = {
    "working_days": "ngày làm việc",
    "working_hours": "giờ làm việc",
    "calendar_days": "ngày (lịch)",
    "same_day": "trong ngày",
}
SUPPLEMENT_POLICIES = {
    "pause": "Tạm dừng, tiếp tục với thời gian còn lại",
    "restart": "Tính lại từ đầu khi hồ sơ đủ",
}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# The fields the draft's form shows; a problem elsewhere is listed above the form.
SHOWN_FIELDS = frozenset({
    "name", "field_code", "online_level", "processing_time", "processing_time_text",
    "fee_text", "supplement_policy", "legal_basis", "eform_schema", "required_documents",
    "effective_date",
})  # fmt: skip


def at_fields(errors: dict[str, str]) -> tuple[dict[str, list[str]], list[str]]:
    """The problems by the form's field (``required_documents/2``: that row), and the
    ones of fields the form does not show."""
    shown: dict[str, list[str]] = {}
    other: list[str] = []
    for pointer, message in errors.items():
        pointer = pointer.removeprefix("#")  # the validation report's pointers carry it
        parts = pointer.strip("/").split("/")
        if parts[0] not in SHOWN_FIELDS:
            other.append(f"{pointer or '/'}: {message}")
            continue
        key = "/".join(parts[:2]) if parts[0] == "required_documents" else parts[0]
        shown.setdefault(key, []).append(message)
    return shown, other


def procedure_path(code: str) -> str:
    return f"/api/v1/procedures/{quote(code, safe='')}"


def page_path(code: str) -> str:
    return f"{CATALOGUE}/{quote(code, safe='')}"


@router.get(CATALOGUE)
async def listing(visit: Visit) -> Response:
    await require_admin(visit)
    query = visit.request.query_params.get("q", "").strip()[:100]
    params: dict[str, str | int] = {"size": 50, **({"q": query} if query else {})}
    found = await visit.get("/api/v1/procedures", params=params)
    return visit.render("admin_catalogue.html", query=query, procedures=found["items"],
                        total=found["total"])  # fmt: skip


async def draft_of(visit: Visit, code: str) -> dict[str, Any] | None:
    answer = await visit.call("GET", procedure_path(code) + "/draft")
    if answer.status_code == 404:
        return None
    if answer.status_code >= 400:
        raise ApiError.of(answer)
    found: dict[str, Any] = answer.json()
    return found


async def render_procedure(
    visit: Visit, code: str, *, status: int = 200, errors: dict[str, str] | None = None,
    message: str | None = None, done: str | None = None, draft: dict[str, Any] | None = None,
    report: dict[str, Any] | None = None, confirming_withdrawal: bool = False,
) -> Response:  # fmt: skip
    history = await visit.get(procedure_path(code) + "/versions", signed=True)  # 404: none
    current_answer = await visit.call("GET", procedure_path(code))
    current = current_answer.json() if current_answer.status_code == 200 else None
    draft = draft or await draft_of(visit, code)
    shown_errors, other_errors = at_fields(errors or {})
    return visit.render(
        "admin_procedure.html", status=status, code=code, current=current, draft=draft,
        history=history, name=(draft or current or history[0])["name"],
        errors=shown_errors, other_errors=other_errors,
        message=message, done=done, report=report,
        field_names=await fields(visit), online_levels=ONLINE_LEVELS, time_units=TIME_UNITS,
        supplement_policies=SUPPLEMENT_POLICIES, confirming_withdrawal=confirming_withdrawal,
        schema_text=json.dumps((draft or {}).get("eform_schema"), ensure_ascii=False, indent=2),
    )  # fmt: skip


@router.get(CATALOGUE + "/mo")
async def open_by_code(visit: Visit) -> Response:
    """A procedure by its code, withdrawn ones too (the list shows those in force)."""
    await require_admin(visit)
    code = visit.request.query_params.get("ma", "").strip()
    if not re.fullmatch(r"[A-Za-z0-9.\-]{1,40}", code):
        return visit.redirect(CATALOGUE)
    return visit.redirect(page_path(code))


@router.get(CATALOGUE + "/{code}")
async def procedure_page(visit: Visit, code: str) -> Response:
    await require_admin(visit)
    return await render_procedure(visit, code, done=visit.request.query_params.get("xong"))


@router.post(CATALOGUE + "/{code}")
async def procedure_posted(visit: Visit, code: str) -> Response:
    await require_admin(visit)
    form = await visit.form()
    action = str(form.get("thao_tac", ""))
    if action == "tao-nhap":
        return await start_draft(visit, code)
    if action == "ngung":
        if form.get("xac_nhan") != "1":
            return await render_procedure(visit, code, confirming_withdrawal=True)
        return await answered(visit, code, "POST", "/unpublish", None, done="ngung")
    if action == "kiem-tra":
        report = await visit.send("POST", procedure_path(code) + "/draft/validate")
        errors = {p["pointer"]: p["message"] for p in report["errors"]}
        return await render_procedure(visit, code, errors=errors, report=report,
                                      status=200 if report["valid"] else 422)  # fmt: skip
    if action == "cong-bo":
        effective = str(form.get("effective_date", ""))
        draft = await draft_of(visit, code)
        if draft is None:
            return await render_procedure(visit, code, status=409,
                                          message="Không có bản nháp để công bố.")  # fmt: skip
        if not DATE.match(effective):
            return await render_procedure(
                visit, code, status=422, errors={"/effective_date": "Hãy chọn ngày hiệu lực."}
            )
        path = f"/versions/{draft['version']}/publish"
        return await answered(visit, code, "POST", path, {"effective_date": effective},
                              done="cong-bo")  # fmt: skip
    return await save(visit, code, form)


async def answered(
    visit: Visit, code: str, method: str, path: str, body: dict[str, Any] | None, *, done: str
) -> Response:
    """The change asked of the catalogue; refused (409, 422), the page with each reason
    at its field; done, the page saying so."""
    try:
        await visit.send(method, procedure_path(code) + path, json=body)
    except ApiError as error:
        if not error.refused:
            raise
        return await render_procedure(
            visit, code, status=error.status, errors=error.field_errors(), message=error.message()
        )
    return visit.redirect(f"{page_path(code)}?xong={done}")


async def start_draft(visit: Visit, code: str) -> Response:
    """A draft of the next version, from the latest published version as it stands (the
    one in force, or the last before the procedure was withdrawn)."""
    history = await visit.get(procedure_path(code) + "/versions", signed=True)
    published = [v["version"] for v in history if v["status"] != "draft"]
    if not published:
        return await render_procedure(
            visit, code, status=409, message="Thủ tục chưa có phiên bản nào đã công bố."
        )
    latest = await visit.get(f"{procedure_path(code)}/versions/{max(published)}")
    content = {k: v for k, v in latest.items() if k not in NOT_CONTENT}
    return await answered(visit, code, "PUT", "/draft", content, done="tao-nhap")


async def save(visit: Visit, code: str, form: Any) -> Response:
    """The draft with what the form changed; what the form does not show is kept."""
    draft = await draft_of(visit, code)
    if draft is None:
        return await render_procedure(
            visit, code, status=409, message="Không có bản nháp: hãy tạo bản nháp trước."
        )
    content, errors = content_from(draft, form)
    if errors:
        return await render_procedure(
            visit,
            code,
            status=422,
            errors=errors,
            message="Bản nháp còn lỗi; xem các ô được đánh dấu.",
        )
    try:
        saved = await visit.send("PUT", procedure_path(code) + "/draft", json=content)
    except ApiError as error:
        if not error.refused:
            raise
        return await render_procedure(
            visit,
            code,
            status=error.status,
            draft=draft,
            errors=error.field_errors(),
            message=error.message(),
        )
    return await render_procedure(visit, code, draft=saved, done="luu")


def content_from(draft: dict[str, Any], form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The draft's content with the form's values; problems the page can see itself."""
    content = {k: v for k, v in draft.items() if k not in NOT_CONTENT}
    errors: dict[str, str] = {}
    text = {name: str(form.get(name, "")).strip() for name in (
        "name", "field_code", "online_level", "processing_time_text", "fee_text",
        "supplement_policy", "time_unit", "time_value", "legal_basis", "eform_schema",
    )}  # fmt: skip
    for name in ("name", "field_code", "online_level", "processing_time_text", "fee_text",
                 "supplement_policy"):  # fmt: skip
        content[name] = text[name]
    content["legal_basis"] = [line.strip() for line in text["legal_basis"].splitlines()
                              if line.strip()]  # fmt: skip
    unit, value = text["time_unit"], text["time_value"]
    if not unit:
        content["processing_time"] = None
    elif unit == "same_day":
        kept = draft.get("processing_time") or {}
        content["processing_time"] = {"unit": unit, "cutoff_hour": kept.get("cutoff_hour")}
    elif value.isdigit() and int(value) > 0:
        content["processing_time"] = {"unit": unit, "value": int(value)}
    else:
        errors["/processing_time/value"] = "Nhập số ngày hoặc giờ (số nguyên dương)."
    documents = []
    for index, kept in enumerate([*draft.get("required_documents", []), {}]):
        name = str(form.get(f"tp_{index}_ten", "")).strip()
        if not name:
            continue  # emptied: removed (the last, blank row: nothing added)
        documents.append({**kept, "name": name, "required": form.get(f"tp_{index}_bb") == "1"})
    content["required_documents"] = documents
    if text["eform_schema"]:
        try:
            schema = json.loads(text["eform_schema"])
        except ValueError as exc:
            errors["/eform_schema"] = f"Không phải JSON hợp lệ: {exc}."
        else:
            if isinstance(schema, dict):
                content["eform_schema"] = schema
            else:
                errors["/eform_schema"] = "Biểu mẫu phải là một đối tượng JSON Schema."
    else:
        content["eform_schema"] = None
    return content, errors
