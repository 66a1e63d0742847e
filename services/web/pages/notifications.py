"""Notifications in the browser (``/api/v1/notifications``): each account's inbox and
its settings (e-mail and phone verified by a code, channels and kinds), the e-mail's
stop link confirmed, and the admins' view of delivery with the dead letters to resend."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from starlette.responses import HTMLResponse, Response

from services.web.api import ApiError
from services.web.pages.admin import require_admin
from services.web.routing import Pages
from services.web.visit import LoginRequired, Visit

router = Pages()
INBOX = "/thong-bao"
SETTINGS = "/thong-bao/cai-dat"
STOP = "/huy-nhan-thu"
ADMIN = "/quan-tri/thong-bao"
API = "/api/v1/notifications"
CHANNEL_LABELS = {
    "inbox": "Trong hệ thống",
    "email": "Thư điện tử",
    "sms": "Tin nhắn SMS",
    "zalo": "Zalo",
}
STATE_LABELS = {
    "queued": "Đang chờ gửi",
    "sent": "Đã gửi",
    "delivered": "Đã nhận",
    "failed": "Gửi không thành công",
}
CONTACT_LABELS = {"email": "Thư điện tử", "phone": "Số điện thoại"}
TOKEN_LIMIT = 2000


def message_path(message_id: str) -> str:
    return f"{API}/{quote(message_id, safe='')}"


# -- the inbox ---------------------------------------------------------------------------


@router.get(INBOX)
async def inbox(visit: Visit) -> Response:
    visit.require_login()
    query = visit.request.query_params
    params: dict[str, Any] = {"limit": 20}
    if query.get("chua-doc") == "1":
        params["unread"] = "true"
    before = query.get("truoc", "")[:40]
    if before:
        params["before"] = before
    listed = await visit.get(API, signed=True, params=params)
    officer = visit.account is not None and visit.account.role == "officer"
    return visit.render(
        "notifications.html", items=listed["items"], unread=listed["unread"],
        next_before=listed["next_before"], only_unread="unread" in params,
        dossier_base="/can-bo/ho-so/" if officer else "/ho-so/",
    )  # fmt: skip


@router.get(INBOX + "/so-chua-doc")
async def unread_count(visit: Visit) -> Response:
    """The navigation's count of unread messages (loaded after the page, by htmx)."""
    if visit.tokens is None:
        return visit.finish(HTMLResponse(""))
    try:
        listed = await visit.get(API, signed=True, params={"unread": "true", "limit": 1})
    except (LoginRequired, ApiError):
        # A login that ended, the service away: no count (the menu's link still works),
        # never a login page or an error page inside the menu.
        return visit.finish(HTMLResponse(""))
    count = int(listed["unread"])
    text = f'<span class="badge" aria-label="{count} chưa đọc">{count}</span>' if count else ""
    return visit.finish(HTMLResponse(text))


def back_to(form: dict[str, Any]) -> str:
    """The inbox as it was shown (all, or only the unread): nowhere else."""
    return INBOX + "?chua-doc=1" if form.get("chua-doc") == "1" else INBOX


@router.post(INBOX + "/{message_id}/da-doc")
async def mark_read(visit: Visit, message_id: str) -> Response:
    form = await visit.form()
    await visit.send("POST", f"{message_path(message_id)}/read")
    return visit.redirect(back_to(form))


@router.post(INBOX + "/da-doc-tat-ca")
async def mark_all_read(visit: Visit) -> Response:
    form = await visit.form()
    await visit.send("POST", f"{API}/read-all")
    return visit.redirect(back_to(form))


# -- settings ----------------------------------------------------------------------------


async def render_settings(
    visit: Visit, *, settings: dict[str, Any] | None = None, message: str | None = None,
    errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:  # fmt: skip
    settings = settings or await visit.get(f"{API}/settings", signed=True)
    contacts = {c["kind"]: c for c in settings["contacts"]}
    citizen = visit.account is not None and visit.account.role == "citizen"
    return visit.render(
        "notification_settings.html", status=status, settings=settings, contacts=contacts,
        kinds_of_contact=["email", "phone"] if citizen else ["email"],
        channel_labels=CHANNEL_LABELS, contact_labels=CONTACT_LABELS, message=message,
        errors=errors or {}, values=values or {},
    )  # fmt: skip


@router.get(SETTINGS)
async def settings_page(visit: Visit) -> Response:
    visit.require_login()
    return await render_settings(visit)


async def _settings_change(
    visit: Visit, method: str, path: str, body: dict[str, Any] | None, *, field: str,
    values: dict[str, str], done: str,
) -> Response:  # fmt: skip
    try:
        settings = await visit.send(method, path, json=body)
    except ApiError as error:
        if not (error.refused or error.status in (403, 404, 429)):
            raise
        errors = {f"/{field}": text for text in error.field_errors().values()}
        return await render_settings(visit, message=error.message(), errors=errors,
                                     values=values, status=error.status)  # fmt: skip
    return await render_settings(visit, settings=settings, message=done)


@router.post(SETTINGS + "/lien-he/{kind}")
async def set_contact(visit: Visit, kind: str) -> Response:
    form = await visit.form()
    address = str(form.get(f"{kind}_address", "")).strip()[:254]
    done = "Đã gửi mã xác minh. Nhập mã nhận được vào ô bên dưới."
    return await _settings_change(
        visit, "PUT", f"{API}/settings/contacts/{quote(kind, safe='')}", {"address": address},
        field=f"{kind}_address", values={f"{kind}_address": address}, done=done,
    )  # fmt: skip


@router.post(SETTINGS + "/lien-he/{kind}/xac-minh")
async def verify_contact(visit: Visit, kind: str) -> Response:
    form = await visit.form()
    code = str(form.get(f"{kind}_code", "")).strip()[:12]
    return await _settings_change(
        visit, "POST", f"{API}/settings/contacts/{quote(kind, safe='')}/verify", {"code": code},
        field=f"{kind}_code", values={}, done="Đã xác minh. Thông báo sẽ được gửi đến địa chỉ này.",
    )  # fmt: skip


@router.post(SETTINGS + "/lien-he/{kind}/xoa")
async def remove_contact(visit: Visit, kind: str) -> Response:
    await visit.form()
    return await _settings_change(
        visit, "DELETE", f"{API}/settings/contacts/{quote(kind, safe='')}", None,
        field=f"{kind}_address", values={}, done="Đã xóa. Không gửi thông báo đến địa chỉ này nữa.",
    )  # fmt: skip


@router.post(SETTINGS + "/kenh")
async def set_channels(visit: Visit) -> Response:
    """Every box of the form: the channels on, and each kind on each channel."""
    await visit.form()
    current = await visit.get(f"{API}/settings", signed=True)
    ticked = set(visit.ticked("bat"))
    channels = {channel: f"kenh:{channel}" in ticked for channel in current["channels"]}
    kinds = {
        choice["kind"]: {c: f"loai:{choice['kind']}:{c}" in ticked for c in choice["channels"]}
        for choice in current["kinds"]
    }
    return await _settings_change(
        visit, "PUT", f"{API}/settings/channels", {"channels": channels, "kinds": kinds},
        field="channels", values={}, done="Đã lưu lựa chọn nhận thông báo.",
    )  # fmt: skip


# -- the e-mail's stop link -------------------------------------------------------------


@router.get(STOP)
async def stop_page(visit: Visit) -> Response:
    token = visit.request.query_params.get("token", "")[:TOKEN_LIMIT]
    return visit.render("unsubscribe.html", token=token, done=None, message=None)


@router.post(STOP)
async def stop(visit: Visit) -> Response:
    form = await visit.form()
    token = str(form.get("token", ""))[:TOKEN_LIMIT]
    answer = await visit.call("POST", f"{API}/unsubscribe?{urlencode({'token': token})}",
                              signed=False)  # fmt: skip
    if answer.status_code >= 400:
        error = ApiError.of(answer)
        if error.status not in (403, 422):
            raise error
        refused = "Liên kết hủy nhận thư không hợp lệ hoặc đã bị sửa."
        return visit.render("unsubscribe.html", status=error.status, token="", done=None,
                            message=refused)  # fmt: skip
    return visit.render("unsubscribe.html", token="", done=answer.json(), message=None)


# -- admins ------------------------------------------------------------------------------


async def render_admin(visit: Visit, *, message: str | None = None, status: int = 200) -> Response:
    query = visit.request.query_params
    filters = {
        "state": query.get("trang-thai", "") if query.get("trang-thai") in STATE_LABELS else "",
        "channel": query.get("kenh", "") if query.get("kenh") in CHANNEL_LABELS else "",
        "dossier": query.get("ho-so", "").strip()[:60],
    }
    params: dict[str, Any] = {name: value for name, value in filters.items() if value}
    params["limit"] = 50
    before = query.get("truoc", "")[:40]
    if before:
        params["before"] = before
    listed = await visit.get(f"{API}/messages", signed=True, params=params)
    figures = await visit.get(f"{API}/status", signed=True)
    return visit.render(
        "admin_notifications.html", status=status, items=listed["items"],
        next_before=listed["next_before"], figures=figures, filters=filters,
        channel_labels=CHANNEL_LABELS, state_labels=STATE_LABELS, message=message,
    )  # fmt: skip


@router.get(ADMIN)
async def admin_page(visit: Visit) -> Response:
    await require_admin(visit)
    return await render_admin(visit)


@router.post(ADMIN + "/{message_id}/gui-lai")
async def resend(visit: Visit, message_id: str) -> Response:
    await require_admin(visit)
    await visit.form()
    try:
        await visit.send("POST", f"{API}/messages/{quote(message_id, safe='')}/resend")
    except ApiError as error:
        if not error.refused and error.status != 404:
            raise
        return await render_admin(visit, message=error.message(), status=error.status)
    return visit.redirect(f"{ADMIN}?trang-thai=failed")
