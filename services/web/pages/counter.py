"""Filing at the counter for a citizen who came in person: the desk finds the procedure,
fills the e-form for them, digitises each paper (a scan, kept as the desk's until the
dossier names it) or notes it was received on paper only, links the citizen's account
when their ID number has one, confirms, and the dossier is filed and received at once:
the receipt with its appointment is the next thing to print.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.responses import Response

from services.web import eform
from services.web.api import ApiError, forbidden, not_found
from services.web.pages.desk import DESK, Desk, desk_path
from services.web.pages.public import agency_names
from services.web.pages.submission import KEY_FIELD, eform_pointer, json_field, label_of
from services.web.routing import Pages
from services.web.visit import Visit
from shared import eforms

router = Pages()

COUNTER = f"{DESK}/nop-tai-quay"
DATA_FIELD = "du_lieu"
SCANS_FIELD = "ban_so_hoa"  # the confirmation step's scans, as JSON {index: id}
PAPER = "giay_"  # + index: received on paper only
SCAN = "quet_"  # + index: the scan's file
SCANNED = "da_quet_"  # + index: a scan stored on an earlier pass of the form
MISSING = "Cần bản quét hoặc xác nhận đã nhận bản giấy."


@dataclass
class Paper:
    """A document of the procedure the citizen brings (those only shown are not kept)."""

    index: int
    name: str
    required: bool
    scan: str | None = None  # the scan's id, once stored
    paper: bool = False  # received on paper only
    error: str | None = None

    @property
    def given(self) -> bool:
        return self.scan is not None or self.paper


def papers(procedure: dict[str, Any]) -> list[Paper]:
    return [
        Paper(index, item["name"], bool(item["required"]))
        for index, item in enumerate(procedure["required_documents"])
        if item["kind"] != "presented"
    ]


def desk_agency(visit: Visit, desk: Desk) -> str:
    """The desk the officer files at: the one asked for, else their first; only a desk
    officer files for a citizen."""
    desks = [code for code, position in desk.memberships.items() if position == "desk"]
    if not desks:
        raise forbidden("Chỉ cán bộ một cửa nhập hồ sơ thay công dân.")
    asked = visit.request.query_params.get("co-quan", "")
    return asked if asked in desks else desks[0]


@router.get(COUNTER)
async def choose(visit: Visit) -> Response:
    desk = Desk.of(visit)
    agency = desk_agency(visit, desk)
    query = visit.request.query_params.get("q", "").strip()[:100]
    # Searched by the catalogue (a desk may offer thousands): the first fifty matches.
    params: dict[str, str | int] = {"agency": agency, "size": 50, **({"q": query} if query else {})}
    listed = await visit.get("/api/v1/procedures", params=params)
    shown = {item["code"]: item["name"] for item in listed["items"]}
    names = await agency_names(visit)
    return visit.render("desk_counter_choose.html", desk=desk, agency=agency, query=query,
                        procedures=shown, agency_name=names.get(agency, agency))  # fmt: skip


async def procedure_of(visit: Visit, code: str, agency: str) -> dict[str, Any]:
    procedure: dict[str, Any] = await visit.get(f"/api/v1/procedures/{quote(code, safe='')}")
    if agency not in procedure.get("offered_by", []):
        raise not_found("Bộ phận này không tiếp nhận thủ tục này.")
    return procedure


@router.get(COUNTER + "/{code}")
async def form_page(visit: Visit, code: str) -> Response:
    desk = Desk.of(visit)
    agency = desk_agency(visit, desk)
    procedure = await procedure_of(visit, code, agency)
    fields = eform.build(procedure["eform_schema"], {}, fill_defaults=True)
    return render_form(visit, procedure, fields, papers(procedure), agency=agency,
                       key=str(uuid.uuid4()))  # fmt: skip


def render_form(
    visit: Visit, procedure: dict[str, Any], fields: list[eform.Field], needed: list[Paper],
    *, agency: str, key: str, status: int = 200, message: str | None = None,
) -> Response:  # fmt: skip
    return visit.render("desk_counter.html", status=status, procedure=procedure, fields=fields,
                        needed=needed, agency=agency, key=key, message=message,
                        step="form")  # fmt: skip


@router.post(COUNTER + "/{code}")
async def form_posted(visit: Visit, code: str) -> Response:
    desk = Desk.of(visit)
    agency = desk_agency(visit, desk)
    procedure = await procedure_of(visit, code, agency)
    schema = procedure["eform_schema"]
    form = await visit.form()
    key = str(form.get(KEY_FIELD) or uuid.uuid4())[:64]
    needed = papers(procedure)
    if form.get("buoc") in ("nop", "sua"):  # from the confirmation, its data in hand
        data = json_field(form.get(DATA_FIELD), {})
        scans = json_field(form.get(SCANS_FIELD), {})
        for paper in needed:
            paper.scan = scans.get(str(paper.index))
            paper.paper = paper.scan is None and form.get(f"{PAPER}{paper.index}") == "1"
        if form.get("buoc") == "nop":
            return await file(visit, procedure, data, needed, agency=agency, key=key,
                              link=str(form.get("lien_ket", "")))  # fmt: skip
        return render_form(visit, procedure, eform.build(schema, data), needed, agency=agency,
                           key=key)  # fmt: skip
    data = eform.parse(schema, form)
    for paper in needed:
        paper.paper = form.get(f"{PAPER}{paper.index}") == "1"
        # Scanned on an earlier pass of the form (intake checks it is this desk's scan).
        paper.scan = str(form.get(f"{SCANNED}{paper.index}", "")) or None
        upload = form.get(f"{SCAN}{paper.index}")
        if isinstance(upload, UploadFile) and upload.filename:
            try:
                paper.scan = await scan(visit, upload, agency, kind=label_of(paper.name))
            except ApiError as error:
                paper.error = error.message()
        if paper.scan is not None:
            paper.paper = False  # digitised: the scan is the document
    if eform.resize(data, schema, form):
        return render_form(visit, procedure, eform.build(schema, data), needed, agency=agency,
                           key=key)  # fmt: skip
    errors = {eform_pointer(path): message for path, message in eforms.problems(schema, data)}
    for paper in needed:
        if paper.required and not paper.given and paper.error is None:
            paper.error = MISSING
    faults = len(errors) + sum(1 for paper in needed if paper.error)
    if faults:
        message = f"Có {faults} chỗ cần sửa: xem các ô được đánh dấu."
        return render_form(visit, procedure, eform.build(schema, data, errors=errors), needed,
                           agency=agency, key=key, status=422, message=message)  # fmt: skip
    citizen = await account_of(visit, data)
    return visit.render(
        "desk_counter.html", procedure=procedure, fields=eform.build(schema, data),
        needed=needed, agency=agency, key=key, citizen=citizen, step="confirm", message=None,
        data=json.dumps(data, ensure_ascii=False),
        scans=json.dumps({str(p.index): p.scan for p in needed if p.scan}),
    )  # fmt: skip


async def scan(visit: Visit, upload: UploadFile, agency: str, *, kind: str) -> str:
    """A paper digitised at the desk (the API checks the file as it streams); its id."""
    sent = (upload.filename or "ban-quet", await upload.read(), upload.content_type or "")
    stored = await visit.send("POST", "/api/v1/documents/scans", files={"file": sent},
                              data={"agency_code": agency, "kind": kind})  # fmt: skip
    return str(stored["id"])


async def account_of(visit: Visit, data: dict[str, Any]) -> dict[str, Any] | None:
    """The citizen's account, if the ID number on the e-form has one."""
    applicant = data.get("applicant")
    id_number = applicant.get("id_number") if isinstance(applicant, dict) else None
    if not isinstance(id_number, str) or not (id_number.isdigit() and len(id_number) == 12):
        return None
    found = await visit.get("/api/v1/citizens", signed=True, params={"id_number": id_number})
    return found[0] if found else None


async def file(
    visit: Visit, procedure: dict[str, Any], data: dict[str, Any], needed: list[Paper], *,
    agency: str, key: str, link: str,
) -> Response:  # fmt: skip
    """File it (one idempotency key per form: a double click files once), then receive
    it, so that the receipt with the appointment prints at once."""
    body: dict[str, Any] = {
        "procedure_code": procedure["code"], "agency_code": agency, "channel": "counter",
        "applicant": data,
        "documents": [{"requirement": p.index, "id": p.scan} for p in needed if p.scan],
        "received_on_paper": [p.index for p in needed if p.paper and not p.scan],
    }  # fmt: skip
    if link:
        body["applicant_account"] = link
    answer = await visit.call("POST", "/api/v1/dossiers", json=body,
                              headers={"idempotency-key": key})  # fmt: skip
    if answer.status_code not in (200, 201):
        error = ApiError.of(answer)
        if answer.status_code != 422:
            raise error
        errors = {pointer.removeprefix("/applicant"): message
                  for pointer, message in error.field_errors().items()}  # fmt: skip
        fields = eform.build(procedure["eform_schema"], data, errors=errors)
        return render_form(visit, procedure, fields, needed, agency=agency,
                           key=str(uuid.uuid4()), status=422,
                           message=error.message())  # fmt: skip
    code = answer.json()["code"]
    try:
        await visit.send("POST", f"/api/v1/dossiers/{quote(code, safe='')}/actions/receive",
                         json={"note": "Tiếp nhận tại quầy"})  # fmt: skip
    except ApiError as error:
        if not error.refused:
            raise
        # Filed but not received (e.g. received by a colleague meanwhile): its page says.
        return visit.redirect(desk_path(code))
    return visit.redirect(f"{desk_path(code)}?xong=receive")
