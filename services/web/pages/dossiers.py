"""A citizen's dossiers: the list, each dossier's page, and what the citizen can do on
it (answer a supplement request, pay, ask to withdraw, download the result)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import Response

from services.web.api import ApiError
from services.web.documents import store, wallet
from services.web.pages.public import agencies, agency_names
from services.web.rendering import POSITION_LABELS
from services.web.routing import Pages
from services.web.visit import Visit

router = Pages()
CURSOR_LIMIT = 500
SLIPS = {
    "receipt": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
    "supplement": "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
    "refusal": "Phiếu từ chối tiếp nhận giải quyết hồ sơ",
    "apology": "Phiếu xin lỗi và hẹn lại ngày trả kết quả",
}


@router.get("/ho-so")
async def my_dossiers(visit: Visit) -> Response:
    request = visit.request
    visit.require_login()
    params: dict[str, str | int] = {"limit": visit.web.settings.page_size}
    cursor = request.query_params.get("sau", "")[:CURSOR_LIMIT]
    if cursor:
        params["cursor"] = cursor
    listed = await visit.get("/api/v1/dossiers", signed=True, params=params)
    return visit.render("my_dossiers.html", dossiers=listed["items"],
                        next_cursor=listed.get("next_cursor"))  # fmt: skip


def dossier_path(code: str) -> str:
    return f"/api/v1/dossiers/{quote(code, safe='')}"


def slips_of(dossier: dict[str, Any], titles: dict[str, str] = SLIPS) -> list[tuple[str, str]]:
    """The slips this dossier has of ``titles``: the receipt once received (and the
    control slip, for officers), and each request's."""
    kinds: list[str] = []
    if dossier["received_at"]:
        kinds += [kind for kind in ("receipt", "control") if kind in titles]
    if dossier["supplement_requests"]:
        kinds.append("supplement")
    if dossier["status"] == "refused":
        kinds.append("refusal")
    if dossier["appointment_at"] and dossier["appointment_at"] != dossier["due_at"]:
        kinds.append("apology")
    return [(kind, titles[kind]) for kind in kinds]


async def render_dossier(
    visit: Visit, code: str, *, status: int = 200, message: str | None = None
) -> Response:
    path = dossier_path(code)
    dossier = await visit.get(path, signed=True)  # first: a 404 ends it here
    documents, steps, appointment, accesses, known = await asyncio.gather(
        wallet(visit),
        visit.get(f"{path}/history", signed=True),
        visit.get(f"{path}/appointment", signed=True),
        visit.get("/api/v1/documents/accesses", signed=True, params={"dossier": code}),
        agencies(visit),
    )
    pending = dossier.get("pending_request") or {}
    return visit.render(
        "dossier.html", status=status, dossier=dossier,
        wallet={d["id"]: d for d in documents}, agency=known.get(dossier["receiving_agency_code"]),
        agency_names={c: a["name"] for c, a in known.items()}, history=steps,
        appointment=appointment, opened=opened(steps["views"], accesses), pending=pending,
        slips=slips_of(dossier), message=message, scores=SCORES,
        withdrawable=any(a["action"] == "request-withdrawal" for a in dossier["allowed_actions"]),
        new=visit.request.query_params.get("moi") == "1",
    )  # fmt: skip


def opened(views: list[dict[str, Any]], accesses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Who opened the dossier or took one of its documents, in time order."""
    events = [{**view, "what": "Mở hồ sơ"} for view in views]
    events += [
        {**access, "what": f"Tải giấy tờ “{access['document_name']}”",
         "position_label": POSITION_LABELS.get(access["position"] or "", "Cán bộ")}
        for access in accesses
    ]  # fmt: skip
    return sorted(events, key=lambda event: datetime.fromisoformat(str(event["at"])))


@router.get("/ho-so/{code}")
async def dossier_page(visit: Visit, code: str) -> Response:
    visit.require_login()
    return await render_dossier(visit, code)


@router.get("/ho-so/{code}/phieu/{kind}")
async def slip(visit: Visit, code: str, kind: str) -> Response:
    """The slip's PDF, as the API gives it (the QR code on it opens the lookup)."""
    return await slip_pdf(visit, code, kind, SLIPS)


async def slip_pdf(visit: Visit, code: str, kind: str, kinds: dict[str, str]) -> Response:
    """A slip of ``kinds`` as the API gives it, shown in the browser to print."""
    visit.require_login()
    if kind not in kinds:
        raise HTTPException(404)
    answer = await visit.call("GET", f"{dossier_path(code)}/slips/{kind}")
    if answer.status_code != 200:
        raise ApiError.of(answer)
    disposition = f'inline; filename="{code}-{kind}.pdf"'
    response = Response(answer.content, media_type="application/pdf",
                        headers={"content-disposition": disposition})  # fmt: skip
    return visit.finish(response)


@router.get("/giay-to/{document_id}")
async def download(visit: Visit, document_id: str) -> Response:
    """A document of the citizen's (a result too)."""
    return await document_link(visit, document_id)


async def document_link(visit: Visit, document_id: str) -> Response:
    """To the short-lived link the API gives for a document, which it audits (the
    citizen sees when an officer took one of theirs): shown in the browser when it is a
    PDF or an image, downloaded with ``?tai-ve=1`` (and always, for other types)."""
    visit.require_login()
    inline = "false" if visit.request.query_params.get("tai-ve") == "1" else "true"
    link = await visit.get(f"/api/v1/documents/{quote(document_id, safe='')}/download",
                           signed=True, params={"inline": inline})  # fmt: skip
    return visit.redirect(link["url"])


async def change(
    visit: Visit, code: str, path: str, body: dict[str, Any] | None, *, done: str
) -> Response:
    """A change the citizen asks of the API on their dossier; the page again with what
    was refused (409, 422: nothing changed), else the page with ``?xong=done``."""
    try:
        await visit.send("POST", f"{dossier_path(code)}/{path}", json=body)
    except ApiError as error:
        if not error.refused:
            raise
        return await render_dossier(visit, code, status=error.status, message=error.message())
    return visit.redirect(f"/ho-so/{quote(code, safe='')}?xong={done}")


async def act(visit: Visit, code: str, action: str, body: dict[str, Any]) -> Response:
    """An action of the citizen's in the status machine."""
    return await change(visit, code, f"actions/{action}", body, done=action)


@router.post("/ho-so/{code}/bo-sung")
async def supplement(visit: Visit, code: str) -> Response:
    """The answer to a supplement request: a file (new or from the wallet) per item."""
    visit.require_login()
    form = await visit.form()
    documents = []
    for key, value in form.items():
        index = key.removeprefix("tep_").removeprefix("kho_")
        if not index.isdigit():
            continue
        if isinstance(value, UploadFile) and value.filename:
            documents.append({"requirement": int(index), "id": await store(visit, value)})
        elif key.startswith("kho_") and isinstance(value, str) and value:
            documents.append({"requirement": int(index), "id": value})
    if not documents:
        return await render_dossier(visit, code, status=422,
            message="Hãy đính kèm ít nhất một giấy tờ được yêu cầu bổ sung.")  # fmt: skip
    return await act(visit, code, "supplement", {"documents": documents})


@router.post("/ho-so/{code}/rut")
async def withdraw(visit: Visit, code: str) -> Response:
    visit.require_login()
    form = await visit.form()
    reason = str(form.get("reason", "")).strip()[:2000]
    return await act(visit, code, "request-withdrawal", {"reason": reason})


@router.post("/ho-so/{code}/thanh-toan")
async def pay(visit: Visit, code: str) -> Response:
    """The mock provider's flow: it takes the payment and sends the platform its signed
    notice (a real provider's page would be a redirect)."""
    visit.require_login()
    await visit.form()
    return await change(visit, code, "payment/mock-pay", None, done="pay")


SCORES = {
    5: "Rất hài lòng",
    4: "Hài lòng",
    3: "Bình thường",
    2: "Không hài lòng",
    1: "Rất không hài lòng",
}


@router.post("/ho-so/{code}/danh-gia")
async def rate(visit: Visit, code: str) -> Response:
    """The citizen's rating of the service, once the result is returned."""
    visit.require_login()
    form = await visit.form()
    score = str(form.get("score", ""))
    comment = str(form.get("comment", "")).strip()[:1000] or None
    if not score.isdigit() or int(score) not in SCORES:
        return await render_dossier(visit, code, status=422,
                                    message="Hãy chọn một mức độ hài lòng.")  # fmt: skip
    return await change(visit, code, "rating", {"score": int(score), "comment": comment},
                        done="danh-gia")  # fmt: skip


async def render_wallet(visit: Visit, *, status: int = 200, message: str | None = None) -> Response:
    return visit.render("wallet.html", status=status, documents=await wallet(visit),
                        agency_names=await agency_names(visit), message=message)  # fmt: skip


@router.get("/kho-giay-to")
async def wallet_page(visit: Visit) -> Response:
    """The citizen's documents, each with the dossiers it was used in."""
    visit.require_login()
    return await render_wallet(visit)


@router.post("/kho-giay-to")
async def wallet_upload(visit: Visit) -> Response:
    """A document into the wallet, to use in later dossiers."""
    visit.require_login()
    form = await visit.form()
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return await render_wallet(visit, status=422, message="Hãy chọn một tệp để tải lên.")
    try:
        await store(visit, file)
    except ApiError as error:
        if error.status not in (413, 415, 422):
            raise
        return await render_wallet(visit, status=error.status, message=error.detail or error.title)
    return visit.redirect("/kho-giay-to")
