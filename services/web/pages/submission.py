"""Filing a dossier online: the procedure's e-form, a file for each required document
(uploaded, or chosen from the citizen's wallet), the desk to file at, a review, and
the submission, which a double click cannot file twice (one idempotency key per form).
"""

from __future__ import annotations

import json
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.responses import Response

from services.web import eform
from services.web.api import ApiError
from services.web.documents import store, wallet
from services.web.pages.public import agencies
from services.web.routing import Pages
from services.web.visit import Visit
from shared import eforms

router = Pages()

KEY_FIELD = "khoa"  # the form's idempotency key
DATA_FIELD = "du_lieu"  # the review step's e-form data, as JSON
FILES_FIELD = "tai_lieu"  # the review step's documents, as JSON
STEP_FIELD = "buoc"
MISSING_DOCUMENT = "Cần tải lên tệp hoặc chọn một tệp trong kho giấy tờ."


def label_of(name: str) -> str:
    """A wallet label for a required document (``giay-phep-lai-xe-cu``): what the
    citizen's later files of the same kind are matched by."""
    folded = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    words = "".join(c if c.isascii() and c.isalnum() else " " for c in plain).split()
    label = "-".join(words)[:100].strip("-")
    return label if label and label[0].isalpha() else f"giay-to-{label}"[:100].strip("-")


@dataclass
class Requirement:
    """A document the citizen gives online (those shown at the desk are not asked)."""

    index: int
    name: str
    required: bool
    label: str
    chosen: str | None = None  # the wallet document's id
    error: str | None = None


def requirements(procedure: dict[str, Any]) -> list[Requirement]:
    return [
        Requirement(index, item["name"], bool(item["required"]), label_of(item["name"]))
        for index, item in enumerate(procedure["required_documents"])
        if item["kind"] != "presented"
    ]


def wallet_for(documents: list[dict[str, Any]], requirement: Requirement) -> list[dict[str, Any]]:
    """The wallet, files of the requirement's kind first, newest first within each."""
    newest = sorted(documents, key=lambda d: d["created_at"], reverse=True)
    return sorted(newest, key=lambda d: d.get("label") != requirement.label)


@router.get("/thu-tuc/{code}/nop-ho-so")
async def form_page(visit: Visit, code: str) -> Response:
    visit.require_login()
    procedure = await visit.get(f"/api/v1/procedures/{quote(code, safe='')}")
    schema = procedure["eform_schema"]
    return await render_form(
        visit, procedure, eform.build(schema, {}, fill_defaults=True), requirements(procedure),
        agency="", key=str(uuid.uuid4()), status=200,
    )  # fmt: skip


async def render_form(
    visit: Visit,
    procedure: dict[str, Any],
    fields: list[eform.Field],
    needed: list[Requirement],
    *,
    agency: str,
    key: str,
    status: int,
    message: str | None = None,
    agency_error: str | None = None,
) -> Response:
    known = await agencies(visit)
    desks = [known[c] for c in procedure.get("offered_by") or [] if c in known]
    documents = await wallet(visit)
    choices = {r.index: wallet_for(documents, r) for r in needed}
    return visit.render("submission.html", status=status, procedure=procedure, fields=fields,
                        needed=needed, choices=choices, desks=desks, agency=agency, key=key,
                        message=message, agency_error=agency_error,
                        step="form")  # fmt: skip


@router.post("/thu-tuc/{code}/nop-ho-so")
async def form_posted(visit: Visit, code: str) -> Response:
    visit.require_login()
    form = await visit.form()
    procedure = await visit.get(f"/api/v1/procedures/{quote(code, safe='')}")
    schema = procedure["eform_schema"]
    key = str(form.get(KEY_FIELD) or uuid.uuid4())[:64]
    agency = str(form.get("agency", ""))[:30]
    if form.get(STEP_FIELD) == "nop":
        return await submit(visit, procedure, form, key=key, agency=agency)
    if form.get(STEP_FIELD) == "sua":  # back from the review, its data in hand
        data = json_field(form.get(DATA_FIELD), {})
        needed = _chosen(requirements(procedure), json_field(form.get(FILES_FIELD), []))
        fields = eform.build(schema, data)
        return await render_form(visit, procedure, fields, needed, agency=agency, key=key,
                                 status=200)  # fmt: skip
    data = eform.parse(schema, form)
    needed = requirements(procedure)
    for requirement in needed:
        requirement.chosen = str(form.get(f"kho_{requirement.index}", "")) or None
        file = form.get(f"tep_{requirement.index}")
        if isinstance(file, UploadFile) and file.filename:
            try:
                requirement.chosen = await store(visit, file, kind=requirement.label)
            except ApiError as error:
                requirement.error = error.detail or error.title
    if eform.resize(data, schema, form):
        fields = eform.build(schema, data)
        return await render_form(visit, procedure, fields, needed, agency=agency, key=key,
                                 status=200)  # fmt: skip
    errors = {eform_pointer(path): message for path, message in eforms.problems(schema, data)}
    for requirement in needed:
        if requirement.required and requirement.chosen is None and requirement.error is None:
            requirement.error = MISSING_DOCUMENT
    desks = set(procedure.get("offered_by") or [])
    agency_error = None if agency in desks else "Hãy chọn nơi nộp hồ sơ."
    faults = len(errors) + sum(1 for r in needed if r.error) + (agency_error is not None)
    if faults:
        fields = eform.build(schema, data, errors=errors)
        return await render_form(visit, procedure, fields, needed, agency=agency, key=key,
            status=422, message=f"Có {faults} chỗ cần sửa: xem các ô được đánh dấu.",
            agency_error=agency_error)  # fmt: skip
    return await review(visit, procedure, data, needed, agency=agency, key=key)


def eform_pointer(path: list[str | int]) -> str:
    return "".join(f"/{part}" for part in path)


def json_field(value: Any, default: Any) -> Any:
    """A form field carrying JSON (a review step's data), or ``default`` if it does not
    parse as the same kind of value."""
    try:
        parsed = json.loads(str(value)) if value else default
    except ValueError:
        return default
    return parsed if isinstance(parsed, type(default)) else default


def _chosen(needed: list[Requirement], given: list[Any]) -> list[Requirement]:
    by_index = {item.get("requirement"): item.get("id") for item in given if isinstance(item, dict)}
    for requirement in needed:
        chosen = by_index.get(requirement.index)
        requirement.chosen = str(chosen) if chosen else None
    return needed


async def review(
    visit: Visit,
    procedure: dict[str, Any],
    data: dict[str, Any],
    needed: list[Requirement],
    *,
    agency: str,
    key: str,
) -> Response:
    known = await agencies(visit)
    names = {d["id"]: d["name"] for d in await wallet(visit)}
    documents = [{"requirement": r.index, "id": r.chosen} for r in needed if r.chosen is not None]
    return visit.render(
        "submission_review.html", procedure=procedure,
        fields=eform.build(procedure["eform_schema"], data), needed=needed, names=names,
        desk=known.get(agency), agency=agency, key=key, data=json.dumps(data, ensure_ascii=False),
        documents=json.dumps(documents), step="review",
    )  # fmt: skip


async def submit(
    visit: Visit, procedure: dict[str, Any], form: dict[str, Any], *, key: str, agency: str
) -> Response:
    data = json_field(form.get(DATA_FIELD), {})
    documents = json_field(form.get(FILES_FIELD), [])
    answer = await visit.call(
        "POST",
        "/api/v1/dossiers",
        json={"procedure_code": procedure["code"], "agency_code": agency, "applicant": data,
              "documents": documents},
        headers={"idempotency-key": key},
    )  # fmt: skip
    if answer.status_code in (200, 201):
        return visit.redirect(f"/ho-so/{quote(answer.json()['code'], safe='')}?moi=1")
    error = ApiError.of(answer)
    if answer.status_code != 422:
        raise error
    errors = {}
    for pointer, message in error.field_errors().items():
        errors[pointer.removeprefix("/applicant")] = message
    needed = _chosen(requirements(procedure), documents)
    for requirement in needed:
        if errors.get("/documents") and requirement.required and requirement.chosen is None:
            requirement.error = MISSING_DOCUMENT
    fields = eform.build(procedure["eform_schema"], data, errors=errors)
    # A new key: the corrected form is another request, not a retry of this one.
    return await render_form(visit, procedure, fields, needed, agency=agency,
                             key=str(uuid.uuid4()), status=422,
                             message=error.detail or error.title)  # fmt: skip
