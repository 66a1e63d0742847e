"""One error hierarchy, rendered once as RFC 9457 problem details.

Services raise these domain errors, never ``HTTPException``. Titles are Vietnamese
(they are shown to people); ``type`` identifies the problem for programs.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import asyncpg
import redis.exceptions
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

PROBLEM_MEDIA_TYPE = "application/problem+json"
logger = logging.getLogger("onestop.errors")

# Vietnamese titles for statuses the framework raises itself (unknown route, wrong method...).
STATUS_TITLES: dict[int, str] = {
    400: "Yêu cầu không hợp lệ",
    401: "Chưa xác thực",
    403: "Không có quyền truy cập",
    404: "Không tìm thấy",
    405: "Phương thức không được hỗ trợ",
    406: "Định dạng không được hỗ trợ",
    409: "Xung đột trạng thái",
    413: "Dữ liệu gửi lên quá lớn",
    415: "Kiểu dữ liệu không được hỗ trợ",
    422: "Dữ liệu không hợp lệ",
    429: "Quá nhiều yêu cầu",
    500: "Lỗi hệ thống",
    502: "Lỗi từ dịch vụ phía sau",
    503: "Dịch vụ tạm thời không khả dụng",
    504: "Dịch vụ phía sau không phản hồi kịp",
}


class AppError(Exception):
    """Base of every error the platform reports to a caller."""

    status: int = 500
    slug: str = "internal-error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        title: str | None = None,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.default_title())
        self.detail = detail
        self.title = title or self.default_title()
        self.errors = list(errors) if errors else None
        self.headers = dict(headers) if headers else None

    @classmethod
    def default_title(cls) -> str:
        return STATUS_TITLES.get(cls.status, HTTPStatus(cls.status).phrase)


class BadRequest(AppError):
    status, slug = 400, "bad-request"


class Unauthorized(AppError):
    status, slug = 401, "unauthorized"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class Forbidden(AppError):
    status, slug = 403, "forbidden"


class NotFound(AppError):
    status, slug = 404, "not-found"


class Conflict(AppError):
    status, slug = 409, "conflict"


class PayloadTooLarge(AppError):
    status, slug = 413, "payload-too-large"


class Unprocessable(AppError):
    status, slug = 422, "validation-error"


class TooManyRequests(AppError):
    status, slug = 429, "too-many-requests"


class UpstreamError(AppError):
    status, slug = 502, "upstream-error"


class UpstreamUnavailable(AppError):
    """A service or store this request needs is away: try again after ``Retry-After``."""

    status, slug = 503, "service-unavailable"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": str(RETRY_AFTER_SECONDS)})
        super().__init__(detail, **kwargs)


def problem_response(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    slug: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """Build an ``application/problem+json`` response (RFC 9457)."""
    body: dict[str, Any] = {
        "type": f"/problems/{slug}" if slug else "about:blank",
        "title": title or STATUS_TITLES.get(status, HTTPStatus(status).phrase),
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extensions.items() if v is not None})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def json_pointer(location: Sequence[str | int]) -> str:
    """Turn a pydantic error location into a JSON pointer into the request part."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in location]
    return "#/" + "/".join(parts)


# Pydantic's failures in the words a person reads beside the field (its ``ctx`` fills
# the blanks); a failure not listed keeps pydantic's own message.
VALIDATION_MESSAGES: dict[str, str] = {
    "missing": "Trường này là bắt buộc.",
    "string_too_short": "Cần ít nhất {min_length} ký tự.",
    "string_too_long": "Tối đa {max_length} ký tự.",
    "string_pattern_mismatch": "Không đúng định dạng.",
    "string_type": "Phải là một chuỗi ký tự.",
    "int_parsing": "Phải là một số nguyên.",
    "int_type": "Phải là một số nguyên.",
    "float_parsing": "Phải là một số.",
    "greater_than_equal": "Phải lớn hơn hoặc bằng {ge}.",
    "less_than_equal": "Phải nhỏ hơn hoặc bằng {le}.",
    "greater_than": "Phải lớn hơn {gt}.",
    "less_than": "Phải nhỏ hơn {lt}.",
    "enum": "Giá trị không nằm trong danh sách cho phép.",
    "literal_error": "Giá trị không nằm trong danh sách cho phép.",
    "bool_parsing": "Phải là đúng hoặc sai.",
    "date_from_datetime_parsing": "Ngày không hợp lệ (dạng YYYY-MM-DD).",
    "date_parsing": "Ngày không hợp lệ (dạng YYYY-MM-DD).",
    "datetime_parsing": "Thời điểm không hợp lệ.",
    "uuid_parsing": "Mã định danh không hợp lệ.",
    "too_short": "Cần ít nhất {min_length} phần tử.",
    "too_long": "Tối đa {max_length} phần tử.",
    "extra_forbidden": "Trường này không được phép.",
    "json_invalid": "JSON không hợp lệ.",
}


def validation_message(error: Mapping[str, Any]) -> str:
    template = VALIDATION_MESSAGES.get(str(error.get("type", "")))
    if template is None:
        return str(error.get("msg", ""))
    try:
        return template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError):
        return str(error.get("msg", ""))


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Describe each validation failure with where it is and why, without echoing input."""
    described = []
    for error in exc.errors():
        location = list(error.get("loc", ()))
        part = str(location.pop(0)) if location else "body"
        item: dict[str, Any] = {"location": part, "message": validation_message(error)}
        if part == "body":
            item["pointer"] = json_pointer(location)
        else:
            item["parameter"] = ".".join(str(p) for p in location)
        described.append(item)
    return described


# The methods a 405 may name: each is tried against the app's routes.
METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers at the request's path (RFC 9110 §15.5.6).

    Starlette's 405 names only the methods of the first route matching the path, so a
    path whose GET and POST are two routes would advertise one of them. Each method is
    tried instead through the routes' own matching (included routers match for theirs).
    """
    routes = request.app.router.routes
    return [
        method
        for method in METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL
               for route in routes)
    ]  # fmt: skip


# A store a request needs is away (the database restarting, Redis gone, a name that does
# not resolve): the request did not happen, and a retry (with the same Idempotency-Key)
# may well succeed in a few seconds. 503 with Retry-After, not a 500 that reads as a bug.
STORE_AWAY: tuple[type[Exception], ...] = (
    ConnectionError,  # refused, reset: what asyncpg raises when PostgreSQL is not there
    socket.gaierror,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,  # a connection that died under the statement
    sqlalchemy.exc.TimeoutError,  # no pooled connection came free in time
    asyncpg.exceptions.PostgresConnectionError,
    # PostgreSQL starting up, shutting down or restarted under the statement (57P0x),
    # or a statement cancelled for its time-out (57014).
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
RETRY_AFTER_SECONDS = 5


def is_store_away(exc: BaseException) -> bool:
    """Whether ``exc`` is, or was caused by, a store being away. SQLAlchemy raises a bare
    ``DBAPIError`` for some of them (asyncpg's connection closed in the middle of a
    statement when PostgreSQL restarts): its ``connection_invalidated``, or the driver's
    error underneath, says so."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, STORE_AWAY):
            return True
        if isinstance(cause, sqlalchemy.exc.DBAPIError):
            if cause.connection_invalidated:
                return True
            orig = cause.orig
            if isinstance(orig, BaseException) and is_store_away(orig):
                return True
        cause = cause.__cause__ or cause.__context__
    return False


UNAVAILABLE_DETAIL = "Hệ thống đang tạm gián đoạn; xin thử lại sau giây lát."


def install_error_handlers(app: FastAPI) -> None:
    """Render every error of ``app`` as problem details, each with its own status.

    Unexpected exceptions are answered by ``RequestContextMiddleware`` (a 500 problem with
    the request id), which every app of the platform runs in.
    """

    async def on_app_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AppError)
        return problem_response(
            exc.status,
            title=exc.title,
            detail=exc.detail,
            slug=exc.slug,
            instance=request.url.path,
            headers=exc.headers,
            errors=exc.errors,
        )

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem_response(
            422,
            detail="Một số trường không hợp lệ; xem danh sách lỗi.",
            slug="validation-error",
            instance=request.url.path,
            errors=validation_errors(exc),
        )

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail: str | None = exc.detail if isinstance(exc.detail, str) else None
        # Starlette's own details are the English status phrases; keep only real details.
        if detail == HTTPStatus(exc.status_code).phrase:
            detail = None
        headers = exc.headers
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        return problem_response(
            exc.status_code, detail=detail, instance=request.url.path, headers=headers
        )

    async def on_store_away(request: Request, exc: Exception) -> Response:
        logger.warning(
            "a store is unavailable",
            extra={"error": type(exc).__name__, "path": request.url.path},
        )
        return problem_response(
            503,
            detail=UNAVAILABLE_DETAIL,
            slug="service-unavailable",
            instance=request.url.path,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    async def on_database_error(request: Request, exc: Exception) -> Response:
        if is_store_away(exc):
            return await on_store_away(request, exc)
        raise exc  # a bug: the 500 of RequestContextMiddleware, with its request id

    for kind in STORE_AWAY:
        app.add_exception_handler(kind, on_store_away)
    app.add_exception_handler(sqlalchemy.exc.DBAPIError, on_database_error)
    app.add_exception_handler(AppError, on_app_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
