"""The pages' app: mounted by the gateway for every address outside ``/api/`` (the
composition hands it over), and calling ``/api/v1`` back through that gateway."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.web import rendering
from services.web.api import Api, ApiError
from services.web.config import WebSettings
from services.web.pages import (
    account,
    admin,
    agencies,
    catalogue,
    counter,
    desk,
    dossiers,
    leaders,
    notifications,
    public,
    submission,
)
from services.web.session import SESSION_COOKIE, Refresher
from services.web.visit import FORMS_KEY, CsrfRefused, LoginRequired, Reference, Visit, Web

logger = logging.getLogger("onestop.web")

# No inline script or style, nothing from another site, no framing (DESIGN §11).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# Static files: their address carries their hash (rendering.asset_versions).
STATIC_CACHE = b"public, max-age=31536000, immutable"


class SecurityHeaders:
    """Adds the headers above to every answer of the pages, and answers a page that
    failed unexpectedly with a page (500) rather than a bare text."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if not (static and name == b"cache-control")
                ]
                headers.extend(SECURITY_HEADERS)
                if static and message["status"] == 200:
                    headers.append((b"cache-control", STATIC_CACHE))
                message = {**message, "headers": headers}
            await send(message)

        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await with_headers(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            await close_forms(scope)
            if started:
                raise
            logger.exception("page failed", extra={"path": scope["path"]})
            page = Visit(Request(scope, receive)).render("error.html", status=500,
                title="Lỗi hệ thống", detail="Đã có lỗi ngoài ý muốn. Dữ liệu của bạn không "
                "bị ảnh hưởng; vui lòng thử lại sau ít phút.")  # fmt: skip
            await page(scope, receive, with_headers)
            return
        await close_forms(scope)


async def close_forms(scope: Scope) -> None:
    """The uploaded files of the forms the page read (spooled to disk when large)."""
    for form in scope.pop(FORMS_KEY, []):
        await form.close()


def create_app(settings: WebSettings | None = None) -> Starlette:
    """The pages; ``bind_api`` gives them the gateway to call once it exists."""
    settings = settings or WebSettings()
    routes: list[BaseRoute] = [
        *public.router.routes,
        *account.router.routes,
        *dossiers.router.routes,
        *submission.router.routes,
        *desk.router.routes,
        *counter.router.routes,
        *admin.router.routes,
        *catalogue.router.routes,
        *agencies.router.routes,
        *leaders.router.routes,
        *notifications.router.routes,
        Mount("/static", StaticFiles(directory=rendering.STATIC), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)])
    install_error_pages(app)
    app.state.web = Web(
        settings=settings,
        api=Api(timeout=settings.api_timeout_seconds),
        templates=rendering.environment(),
        refresher=Refresher(),
        reference=Reference(ttl=settings.reference_ttl_seconds),
    )
    return app


def bind_api(app: Starlette, api: ASGIApp) -> None:
    web: Web = app.state.web
    web.api.bind(api)


ErrorPage = Callable[[Request, Exception], Awaitable[Response]]


def handles(app: Starlette, kind: type[Exception]) -> Callable[[ErrorPage], ErrorPage]:
    def register(handler: ErrorPage) -> ErrorPage:
        app.add_exception_handler(kind, handler)
        return handler

    return register


def install_error_pages(app: Starlette) -> None:
    """Every failure as a page in Vietnamese, with the status it deserves."""

    @handles(app, LoginRequired)
    async def login_required(request: Request, _: Exception) -> Response:
        visit = Visit(request)
        target = visit.here() if request.method == "GET" else quote(request.url.path)
        response = RedirectResponse(f"/dang-nhap?next={target}", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @handles(app, CsrfRefused)
    async def csrf_refused(request: Request, _: Exception) -> Response:
        return Visit(request).render("error.html", status=403, title="Biểu mẫu không hợp lệ",
            detail="Biểu mẫu đã hết hạn hoặc không được gửi từ trang của Một cửa. "
            "Không có gì được thay đổi. Vui lòng tải lại trang và gửi lại.")  # fmt: skip

    @handles(app, ApiError)
    async def api_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, ApiError)
        response = Visit(request).render(
            "error.html", status=error.status, title=error.title, detail=error.detail
        )
        if error.retry_after is not None:
            response.headers["retry-after"] = error.retry_after
        return response

    @handles(app, StarletteHTTPException)
    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code == 404:
            title, detail = "Không tìm thấy trang", "Địa chỉ này không có trên Cổng Một cửa."
        else:
            title, detail = "Yêu cầu không hợp lệ", None
        return Visit(request).render("error.html", status=error.status_code, title=title,
                                     detail=detail)  # fmt: skip
