"""One browser request being answered: its login, its calls to the API, its page."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from jinja2 import Environment
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from services.web.api import Api, ApiError, Caller
from services.web.config import WebSettings
from services.web.session import (
    CSRF_COOKIE,
    CSRF_FIELD,
    SESSION_COOKIE,
    SESSION_SECONDS,
    Account,
    Refresher,
    Tokens,
    csrf_token,
    csrf_valid,
    new_csrf_seed,
)
from shared.logging import REQUEST_ID_HEADER, current_request_id

# Where a visit leaves its parsed form, for the pages' middleware to close its files
# once the answer is sent (main.SecurityHeaders): a dependency with a ``yield`` would do
# it too, at a tenth of a page's time.
FORMS_KEY = "onestop.forms"


class LoginRequired(Exception):
    """The page needs a login the browser does not have (or no longer has)."""


class CsrfRefused(Exception):
    """A form came without the token this browser's pages carry."""


@dataclass
class Reference:
    """Lists that change only with the catalogue (fields, agencies), kept a minute."""

    ttl: float
    _kept: dict[str, tuple[float, Any]] = field(default_factory=dict)

    async def get(self, key: str, load: Callable[[], Awaitable[Any]]) -> Any:
        now = time.monotonic()
        kept = self._kept.get(key)
        if kept is not None and now - kept[0] < self.ttl:
            return kept[1]
        value = await load()
        self._kept[key] = (now, value)
        return value

    def forget(self, key: str) -> None:
        """Read ``key`` afresh next time (a page saw something the kept list lacks)."""
        self._kept.pop(key, None)


@dataclass
class Web:
    """What every page shares: settings, the API client, templates."""

    settings: WebSettings
    api: Api
    templates: Environment
    refresher: Refresher
    reference: Reference


class Visit:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.web: Web = request.app.state.web
        self.tokens = Tokens.decode(request.cookies.get(SESSION_COOKIE))
        self._tokens_changed = False
        self._csrf_seed = request.cookies.get(CSRF_COOKIE)
        self._csrf_new = False
        client = request.client
        self.caller = Caller(
            address=(client.host, client.port) if client else ("127.0.0.1", 0),
            forwarded_for=request.headers.get("x-forwarded-for"),
            request_id=current_request_id() or request.headers.get(REQUEST_ID_HEADER),
        )

    # -- the login ---------------------------------------------------------------

    @property
    def account(self) -> Account | None:
        return Account.of(self.tokens)

    def sign_in(self, tokens: Tokens) -> None:
        self.tokens = tokens
        self._tokens_changed = True
        self._rotate_csrf()  # a new login, a new token: none fixed before it survives

    def sign_out(self) -> None:
        self.tokens = None
        self._tokens_changed = True
        self._rotate_csrf()

    def require_login(self) -> Tokens:
        if self.tokens is None:
            raise LoginRequired
        return self.tokens

    async def _refreshed(self) -> bool:
        if self.tokens is None or self.tokens.refresh is None:
            return False

        async def exchange(refresh: str) -> Tokens | None:
            answer = await self.web.api.request(
                self.caller, "POST", "/api/v1/auth/refresh", json={"refresh_token": refresh}
            )
            return Tokens.issued(answer.json()) if answer.status_code == 200 else None

        tokens = await self.web.refresher.trade(self.tokens.refresh, exchange)
        if tokens is None:
            self.sign_out()
            return False
        self.tokens = tokens
        self._tokens_changed = True
        return True

    # -- the API -----------------------------------------------------------------

    async def call(
        self, method: str, path: str, *, signed: bool = True, **kwargs: Any
    ) -> httpx.Response:
        """The API's answer as it is; with ``signed``, as the logged-in citizen or
        officer (the login renewed once if its access token expired)."""
        api = self.web.api
        token = self.tokens.access if signed and self.tokens is not None else None
        answer = await api.request(self.caller, method, path, token=token, **kwargs)
        if answer.status_code == 401 and token is not None and await self._refreshed():
            assert self.tokens is not None
            answer = await api.request(
                self.caller, method, path, token=self.tokens.access, **kwargs
            )
        if answer.status_code == 401 and signed:
            self.sign_out()
            raise LoginRequired
        return answer

    async def get(self, path: str, *, signed: bool = False, **kwargs: Any) -> Any:
        """A read's JSON; an error answer raised as ``ApiError``."""
        answer = await self.call("GET", path, signed=signed, **kwargs)
        if answer.status_code >= 400:
            raise ApiError.of(answer)
        return answer.json()

    async def send(self, method: str, path: str, **kwargs: Any) -> Any:
        """A change, as the logged-in caller; its JSON (None for 204)."""
        answer = await self.call(method, path, **kwargs)
        if answer.status_code >= 400:
            raise ApiError.of(answer)
        return answer.json() if answer.content else None

    # -- forms -------------------------------------------------------------------

    def csrf(self) -> str:
        if self._csrf_seed is None:
            self._rotate_csrf()
        assert self._csrf_seed is not None
        return csrf_token(self.web.settings.csrf_key(), self._csrf_seed)

    def _rotate_csrf(self) -> None:
        self._csrf_seed = new_csrf_seed()
        self._csrf_new = True

    async def form(self) -> dict[str, Any]:
        """The submitted form, once its CSRF token is checked (else ``CsrfRefused``);
        its files are closed when the visit ends (``visiting``)."""
        form = await self.request.form()
        self.request.scope.setdefault(FORMS_KEY, []).append(form)
        sent = form.get(CSRF_FIELD)
        seed = self.request.cookies.get(CSRF_COOKIE)
        if not isinstance(sent, str) or not csrf_valid(self.web.settings.csrf_key(), seed, sent):
            raise CsrfRefused
        return dict(form.multi_items())

    def uploads(self, name: str) -> list[UploadFile]:
        """Every file of the form's field ``name`` (``form`` keeps one value a field)."""
        return [value for value in self._all(name) if isinstance(value, UploadFile)]

    def ticked(self, name: str) -> list[str]:
        """Every text value of the form's field ``name`` (the boxes ticked of a list)."""
        return [value for value in self._all(name) if isinstance(value, str)]

    def _all(self, name: str) -> list[Any]:
        forms = self.request.scope.get(FORMS_KEY) or []
        return list(forms[-1].getlist(name)) if forms else []

    # -- answers -----------------------------------------------------------------

    def finish(self, response: Response) -> Response:
        """The answer with the cookies this visit changed."""
        secure = self.web.settings.cookie_secure
        if self._tokens_changed:
            if self.tokens is None:
                response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True)
            else:
                response.set_cookie(SESSION_COOKIE, self.tokens.encode(), max_age=SESSION_SECONDS,
                                    path="/", secure=secure, httponly=True,
                                    samesite="lax")  # fmt: skip
        if self._csrf_new and self._csrf_seed is not None:
            response.set_cookie(CSRF_COOKIE, self._csrf_seed, path="/", secure=secure,
                                httponly=True, samesite="lax")  # fmt: skip
        if self.tokens is not None or self._tokens_changed:
            response.headers["cache-control"] = "private, no-store"
        return response

    def render(self, template: str, *, status: int = 200, **context: Any) -> Response:
        page = self.web.templates.get_template(template)
        html = page.render(
            visit=self,
            account=self.account,
            path=self.request.url.path,
            csrf_field=CSRF_FIELD,
            **context,
        )
        return self.finish(HTMLResponse(html, status_code=status))

    def redirect(self, location: str) -> Response:
        return self.finish(RedirectResponse(location, status_code=303))

    @property
    def partial(self) -> bool:
        """An htmx request for part of the page (the rest is already on screen)."""
        return self.request.headers.get("hx-request") == "true"

    def here(self) -> str:
        """This page's address, as ``next`` after a login."""
        query = self.request.url.query
        return quote(self.request.url.path + (f"?{query}" if query else ""), safe="/?=&")
