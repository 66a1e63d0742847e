"""Logging in (password or VNeID), registering, logging out: the API's own login,
kept in the browser's cookie (services/web/session.py)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, unquote

from starlette.responses import RedirectResponse, Response

from services.web.api import ApiError
from services.web.routing import Pages
from services.web.session import Tokens
from services.web.visit import Visit

router = Pages()

VNEID_STATE_COOKIE = "onestop_vneid_state"  # the API's (services/gateway/vneid.py)
NEXT_COOKIE = "onestop_next"
VNEID_RETURN = "/dang-nhap/vneid"
URL_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
LOGIN_FAILED = "Tên đăng nhập hoặc mật khẩu không đúng."
PASSWORD_CHANGE = "/problems/password-change-required"


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a page of this site, never another site's."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ord(character) < 32 for character in value):
        return "/"
    return value


def after_login(visit: Visit, target: str) -> str:
    """Officers start at their desk; citizens where they were going, else their list."""
    account = visit.account
    if target == "/" and account is not None and account.role == "citizen":
        return "/ho-so"
    if target == "/" and account is not None and account.role == "officer":
        return "/can-bo"
    if target == "/" and account is not None and account.role == "admin":
        return "/quan-tri/can-bo"
    return target


async def logged_in(visit: Visit, username: str, password: str, target: str) -> Response:
    """Logged in with the password just set (registered, changed), on to ``target``;
    to the login page if that fails."""
    login = await visit.call("POST", "/api/v1/auth/token", signed=False,
                             data={"username": username, "password": password})  # fmt: skip
    if login.status_code == 200:
        visit.sign_in(Tokens.issued(login.json()))
        return visit.redirect(after_login(visit, target))
    return visit.redirect(f"/dang-nhap?next={quote(target)}")


def problem_message(error: ApiError) -> str:
    if error.status == 429:
        return error.detail or "Quá nhiều lần đăng nhập. Vui lòng thử lại sau ít phút."
    if error.status >= 500:
        return "Hệ thống đang bận, chưa đăng nhập được. Vui lòng thử lại sau ít phút."
    return error.detail or error.title


@router.get("/dang-nhap")
async def login_page(visit: Visit) -> Response:
    request = visit.request
    return visit.render(
        "login.html", next=safe_next(request.query_params.get("next")), username="", error=None
    )


@router.post("/dang-nhap")
async def login(visit: Visit) -> Response:
    form = await visit.form()
    username = str(form.get("username", "")).strip()[:64]
    password = str(form.get("password", ""))[:128]
    target = safe_next(str(form.get("next", "")))
    answer = await visit.call("POST", "/api/v1/auth/token", signed=False,
                              data={"username": username, "password": password})  # fmt: skip
    if answer.status_code == 200:
        visit.sign_in(Tokens.issued(answer.json()))
        return visit.redirect(after_login(visit, target))
    if answer.status_code == 403 and answer.json().get("type") == PASSWORD_CHANGE:
        # The one-time password an admin gave: it only sets the officer's own.
        return visit.render("password.html", username=username, next=target, errors={},
                            error=None)  # fmt: skip
    error = (
        LOGIN_FAILED if answer.status_code in (401, 422) else problem_message(ApiError.of(answer))
    )
    return visit.render("login.html", status=answer.status_code, next=target,
                        username=username, error=error)  # fmt: skip


@router.post("/dang-nhap/mat-khau-moi")
async def new_password(visit: Visit) -> Response:
    """A new password in place of a one-time one (or any current one), then logged in."""
    form = await visit.form()
    username = str(form.get("username", "")).strip()[:64]
    current = str(form.get("current_password", ""))[:128]
    chosen = str(form.get("new_password", ""))[:128]
    target = safe_next(str(form.get("next", "")))
    errors: dict[str, str] = {}
    if chosen != str(form.get("new_password_again", "")):
        errors["/new_password_again"] = "Hai lần nhập mật khẩu không giống nhau."
    error, status = None, 422
    if not errors:
        answer = await visit.call("POST", "/api/v1/auth/password", signed=False, json={
            "username": username, "current_password": current, "new_password": chosen,
        })  # fmt: skip
        if answer.status_code == 204:
            return await logged_in(visit, username, chosen, target)
        failed = ApiError.of(answer)
        errors = failed.field_errors()
        error = LOGIN_FAILED if answer.status_code == 401 else problem_message(failed)
        status = answer.status_code
    return visit.render("password.html", status=status, username=username, next=target,
                        errors=errors, error=error)  # fmt: skip


@router.post("/dang-xuat")
async def logout(visit: Visit) -> Response:
    await visit.form()
    if visit.tokens is not None:
        # Ends the API's session too: its refresh token is refused from now on.
        await visit.call("POST", "/api/v1/auth/logout", signed=False,
                         headers={"authorization": f"Bearer {visit.tokens.access}"})  # fmt: skip
    visit.sign_out()
    return visit.redirect("/")


@router.get("/dang-ky")
async def register_page(visit: Visit) -> Response:
    request = visit.request
    return visit.render("register.html", values={}, errors={}, error=None,
                        next=safe_next(request.query_params.get("next")))  # fmt: skip


REGISTER_FIELDS = ("id_number", "full_name")


@router.post("/dang-ky")
async def register(visit: Visit) -> Response:
    form = await visit.form()
    values = {name: str(form.get(name, "")).strip()[:200] for name in REGISTER_FIELDS}
    password = str(form.get("password", ""))[:128]
    target = safe_next(str(form.get("next", "")))
    errors: dict[str, str] = {}
    if password != str(form.get("password_again", "")):
        errors["/password_again"] = "Hai lần nhập mật khẩu không giống nhau."
    if not errors:
        answer = await visit.call("POST", "/api/v1/auth/register", signed=False,
                                  json={**values, "password": password})  # fmt: skip
        if answer.status_code == 201:
            return await logged_in(visit, values["id_number"], password, target)
        error = ApiError.of(answer)
        errors = error.field_errors()
        if answer.status_code == 409:
            errors["/id_number"] = "Số định danh này đã có tài khoản. Hãy đăng nhập."
        message = None if errors else problem_message(error)
        status = answer.status_code
    else:
        message, status = None, 422
    return visit.render("register.html", status=status, values=values, errors=errors,
                        error=message, next=target)  # fmt: skip


@router.get("/dang-nhap/vneid/bat-dau")
async def vneid_start(visit: Visit) -> Response:
    """To the API's VNeID login, which brings the browser back to ``vneid_finish``."""
    target = safe_next(visit.request.query_params.get("next"))
    response = RedirectResponse(f"/api/v1/auth/vneid?return_to={VNEID_RETURN}", 303)
    response.set_cookie(NEXT_COOKIE, quote(target), max_age=600, path="/dang-nhap",
                        secure=visit.web.settings.cookie_secure, httponly=True,
                        samesite="lax")  # fmt: skip
    return response


@router.get(VNEID_RETURN)
async def vneid_finish(visit: Visit) -> Response:
    """The provider's answer, handed to the API with the state this browser holds."""
    request = visit.request
    state = request.query_params.get("state", "")
    assertion = request.query_params.get("assertion", "")
    cookie = request.cookies.get(VNEID_STATE_COOKIE, "")
    params: dict[str, Any] = {"state": state, "assertion": assertion}
    headers = {"cookie": f"{VNEID_STATE_COOKIE}={cookie}"} if URL_SAFE.match(cookie) else {}
    answer = await visit.call("GET", "/api/v1/auth/vneid/callback", signed=False,
                              params=params, headers=headers)  # fmt: skip
    target = safe_next(unquote(request.cookies.get(NEXT_COOKIE, "")))
    if answer.status_code != 200:
        error = problem_message(ApiError.of(answer))
        return visit.render("login.html", status=answer.status_code, next=target,
                            username="", error=error)  # fmt: skip
    visit.sign_in(Tokens.issued(answer.json()))
    response = visit.redirect(after_login(visit, target))
    response.delete_cookie(VNEID_STATE_COOKIE, path="/")
    response.delete_cookie(NEXT_COOKIE, path="/dang-nhap")
    return response
