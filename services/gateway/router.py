import contextlib
import logging
import re
import uuid
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from services.gateway import health as health_service
from services.gateway import service as account_service
from services.gateway import staff, vneid
from services.gateway.config import GatewaySettings
from services.gateway.limits import (
    UNAVAILABLE,
    Limit,
    Limiter,
    LimiterUnavailable,
    Rule,
    Throttle,
    account_key,
    retry_after,
)
from services.gateway.schemas import (
    MeResponse,
    PasswordChange,
    PasswordLogin,
    RefreshRequest,
    Registered,
    Registration,
    TokenResponse,
    VerifiedLogin,
)
from shared.access import SIGNED_IN, Grant, allow
from shared.auth import (
    CurrentPrincipal,
    PasswordHasher,
    TokenService,
    bearer_token,
    login_revocation_id,
)
from shared.contracts.health import PlatformHealth
from shared.db import DatabaseDep, SessionDep
from shared.errors import TooManyRequests, Unauthorized, UpstreamUnavailable
from shared.runtime import Runtime
from shared.worktime import VIETNAM

router = APIRouter(prefix="/api/v1")
logger = logging.getLogger("onestop.gateway.auth")
VIETNAM_ZONE = ZoneInfo(VIETNAM)


async def get_tokens(request: Request) -> TokenService:
    tokens: TokenService = request.app.state.runtime.tokens
    return tokens


async def no_store(response: Response) -> None:
    """An answer carrying tokens is kept by no cache (RFC 6749 §5.1)."""
    response.headers.update(NO_STORE)


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
NoStore = Annotated[None, Depends(no_store)]


async def get_hasher(request: Request) -> PasswordHasher:
    hasher: PasswordHasher = request.app.state.hasher
    return hasher


# The routes that hand out tokens: public, answered with the tokens.
GIVES_TOKENS: dict[str, Any] = {
    "response_model": TokenResponse,
    "tags": ["auth"],
    **allow(Grant.PUBLIC),
}


@router.post("/auth/token", **GIVES_TOKENS)
async def issue_token(
    request: Request,
    session: SessionDep,
    form: Annotated[PasswordLogin, Form()],
    tokens: Annotated[TokenService, Depends(get_tokens)],
    hasher: Annotated[PasswordHasher, Depends(get_hasher)],
    _: NoStore,
) -> TokenResponse:
    """Log in with a username (a citizen's 12-digit ID number) and password; get a bearer
    token. Failed logins of one account are throttled: after a few, 429 with Retry-After."""
    failures = await login_failures(request, form.username)
    if failures is not None:
        await failures.check()
    try:
        user = await account_service.authenticate(
            session, username=form.username, password=form.password, hasher=hasher
        )
    except Unauthorized:
        if failures is not None:
            await failures.record()
        raise
    issued = account_service.start_session(
        session, user, tokens=tokens, refresh_ttl=refresh_ttl(request), now=datetime.now(UTC)
    )
    return TokenResponse(**asdict(issued))


def refresh_ttl(request: Request) -> timedelta:
    settings: GatewaySettings = request.app.state.runtime.settings
    return timedelta(seconds=settings.refresh_token_ttl_seconds)


@router.post("/auth/refresh", **GIVES_TOKENS)
async def refresh_tokens(
    body: RefreshRequest,
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    tokens: Annotated[TokenService, Depends(get_tokens)],
    _: NoStore,
) -> TokenResponse:
    """Trade a refresh token for new tokens; it is then used up. A refresh token used a
    second time was copied: that login is ended on every device that holds it."""
    ttl = refresh_ttl(request)
    issued = await account_service.trade_refresh_token(
        session, database, body.refresh_token, tokens=tokens, refresh_ttl=ttl,
        now=datetime.now(UTC),
    )  # fmt: skip
    return TokenResponse(**asdict(issued))


@router.post("/auth/password", status_code=204, tags=["auth"], **allow(Grant.PUBLIC))
async def change_password(
    request: Request,
    session: SessionDep,
    body: PasswordChange,
    hasher: Annotated[PasswordHasher, Depends(get_hasher)],
) -> Response:
    """Set a new password with the current one (the one-time password an admin gave,
    which allows nothing else). Every login of the account ends; log in again. Failed
    attempts count like failed logins."""
    failures = await login_failures(request, body.username)
    if failures is not None:
        await failures.check()
    try:
        _, families = await staff.change_password(session, body, hasher=hasher,
                                                  now=datetime.now(UTC))  # fmt: skip
    except Unauthorized:
        if failures is not None:
            await failures.record()
        raise
    await revoke_logins(request, [login_revocation_id(str(family)) for family in families])
    return Response(status_code=204)


@router.post("/auth/logout", status_code=204, tags=["auth"], **allow(*SIGNED_IN))
async def logout(request: Request, session: SessionDep) -> Response:
    """End the caller's login: its access token is refused from now on and its refresh
    tokens are revoked."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("Cần đăng nhập.")
    runtime: Runtime = request.app.state.runtime
    claims = runtime.tokens.claims(token)
    await revoke_logins(request, [claims.revocation_id])
    if claims.session_id is not None:
        with contextlib.suppress(ValueError):
            family = uuid.UUID(claims.session_id)
            await account_service.end_session(session, family, now=datetime.now(UTC))
    return Response(status_code=204)


@router.post(
    "/auth/register",
    response_model=Registered,
    status_code=201,
    tags=["auth"],
    **allow(Grant.PUBLIC),
)
async def register(
    session: SessionDep,
    body: Registration,
    hasher: Annotated[PasswordHasher, Depends(get_hasher)],
) -> Registered:
    """A citizen opens an account with their personal identification number (12 digits,
    checked: the province code, the century, the year of birth) and a password."""
    today = datetime.now(VIETNAM_ZONE).date()
    user = await account_service.register(session, body, hasher=hasher, today=today)
    return Registered(id=str(user.id), username=user.username, identity_verified=False)


# A path of this platform's pages (no scheme, no host, no "//"): never an open redirect.
LOCAL_PAGE = r"^(/[A-Za-z0-9_-]+)+$"


@router.get(
    "/auth/vneid",
    status_code=302,
    response_class=RedirectResponse,
    responses={
        302: {
            "description": "To the provider's login page.",
            "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
        }
    },
    tags=["auth"],
    **allow(Grant.PUBLIC),
)
async def vneid_start(
    request: Request,
    return_to: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=LOCAL_PAGE,
            description="A page of this platform the browser comes back to with the "
            "provider's answer (the web login finishes there); without it, the "
            "callback answers the tokens.",
        ),
    ] = None,
) -> RedirectResponse:
    """Log in with the national digital identity (VNeID): a redirect to the provider,
    which sends the browser back to ``/auth/vneid/callback``."""
    settings: GatewaySettings = request.app.state.runtime.settings
    state = vneid.new_state()
    base = vneid.platform_base(settings, str(request.base_url))
    response = RedirectResponse(vneid.authorize_redirect(settings, state, base=base), 302)
    secure = base.startswith("https://")
    # Path /: the web login's page reads it too, to finish the login with it.
    response.set_cookie(
        vneid.STATE_COOKIE,
        state,
        max_age=vneid.STATE_SECONDS,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )  # sent on the provider's top-level redirect back
    if return_to is not None:
        response.set_cookie(vneid.RETURN_COOKIE, return_to, max_age=vneid.STATE_SECONDS,
                            path=vneid.START_PATH, secure=secure, httponly=True,
                            samesite="lax")  # fmt: skip
    return response


# What the provider sends back: our state (token_urlsafe) and a compact JWS (RFC 7515
# §7.1; VNeID's is about 1 KB). Their bounds keep a callback's address, even one over
# them in four-byte characters, under the 64 KiB an HTTP server reads before any route
# (tests/gateway/test_conformance.py holds every operation to that).
URL_SAFE = r"^[A-Za-z0-9_-]+$"
COMPACT_JWS = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$"


@router.get(
    "/auth/vneid/callback",
    response_model=VerifiedLogin,
    responses={
        303: {
            "description": "A login begun with ``return_to``: to that page, with the "
            "same query, to be finished there.",
            "headers": {"Location": {"schema": {"type": "string"}}},
        }
    },
    tags=["auth"],
    # No login: the provider's signed assertion, bound to this browser's state, is it.
    **allow(Grant.SIGNED),
)
async def vneid_callback(
    request: Request,
    session: SessionDep,
    tokens: Annotated[TokenService, Depends(get_tokens)],
    state: Annotated[str, Query(max_length=200, pattern=URL_SAFE)],
    assertion: Annotated[str, Query(max_length=4096, pattern=COMPACT_JWS)],
) -> Response:
    """The provider's answer: the citizen's account (made if new), marked verified, and
    their tokens. An assertion is accepted once, from the browser that asked for it.
    A login begun with ``return_to`` is sent on there, untouched, to be finished."""
    return_to = request.cookies.get(vneid.RETURN_COOKIE)
    if return_to is not None and re.fullmatch(LOCAL_PAGE, return_to):
        query = urlencode({"state": state, "assertion": assertion})
        bounce = RedirectResponse(f"{return_to}?{query}", status_code=303, headers=NO_STORE)
        bounce.delete_cookie(vneid.RETURN_COOKIE, path=vneid.START_PATH)
        return bounce
    throttle: Throttle = request.app.state.throttle
    proven = await vneid.accept(
        assertion,
        state=state,
        cookie=request.cookies.get(vneid.STATE_COOKIE),
        keys=request.app.state.vneid_keys,
        limiter=throttle.limiter,
        settings=request.app.state.runtime.settings,
        today=datetime.now(VIETNAM_ZONE).date(),
    )
    now = datetime.now(UTC)
    user, ended = await account_service.verified_citizen(
        session, id_number=proven.id_number, full_name=proven.full_name, now=now
    )
    # A takeover (service.verified_citizen): the earlier logins' access tokens are
    # refused before the takeover commits; if they cannot be, it does not happen.
    await revoke_logins(request, [login_revocation_id(str(family)) for family in ended])
    issued = account_service.start_session(
        session, user, tokens=tokens, refresh_ttl=refresh_ttl(request), now=now
    )
    login = VerifiedLogin(**asdict(issued), username=user.username, identity_verified=True)
    response = JSONResponse(login.model_dump(mode="json"), headers=NO_STORE)
    response.delete_cookie(vneid.STATE_COOKIE, path="/")
    return response


async def revoke_logins(request: Request, revocation_ids: list[str]) -> None:
    """Refuse these logins' access tokens from now on (``TokenClaims.revocation_id``);
    503 when the list cannot be written, so that the caller's change rolls back."""
    throttle: Throttle = request.app.state.throttle
    tokens: TokenService = request.app.state.runtime.tokens
    try:
        for revocation_id in revocation_ids:
            await throttle.limiter.revoke(revocation_id, seconds=tokens.ttl.total_seconds())
    except LimiterUnavailable as exc:
        raise UpstreamUnavailable(UNAVAILABLE) from exc


class LoginFailures:
    """The failed logins of one account from one address: refused once over the limit,
    and refused too when the count cannot be read (logins fail closed).

    Counted by account and address together, so that someone guessing from one place
    does not lock the owner out at their own desk; two limits make the delays grow (a
    few tries at once, then one every few minutes, and past a larger number one an
    hour). Guessing one account from many addresses is held by the per-address login
    limit of each.
    """

    def __init__(self, limiter: Limiter, limits: list[Limit], *, address: str) -> None:
        self._limiter = limiter
        self._limits = limits
        self._address = address

    async def check(self) -> None:
        try:
            wait = await self._limiter.acquire(self._limits, consume=False)
        except LimiterUnavailable as exc:
            raise UpstreamUnavailable(UNAVAILABLE) from exc
        if wait > 0:
            raise TooManyRequests(TOO_MANY_FAILURES, headers={"Retry-After": retry_after(wait)})

    async def record(self) -> None:
        with contextlib.suppress(LimiterUnavailable):
            await self._limiter.acquire(self._limits)
            wait = await self._limiter.acquire(self._limits, consume=False)
            if wait > 0:  # this failure used up the last try: a lock-out begins
                logger.warning(
                    "security event: failed logins locked an account out from one address",
                    extra={"event": "login.locked_out", "account": self._limits[0].key,
                           "source": self._address, "seconds": round(wait)},
                )  # fmt: skip


TOO_MANY_FAILURES = "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau ít phút."


async def login_failures(request: Request, username: str) -> LoginFailures | None:
    throttle: Throttle = request.app.state.throttle
    if not throttle.enabled:
        return None
    settings: GatewaySettings = request.app.state.runtime.settings
    address = throttle.address(request.scope)
    secret = settings.platform.jwt_secret.get_secret_value()
    # The key names the account (keyed-hashed: a citizen's is their ID number) and
    # where the tries come from.
    key = account_key(secret, username) + ":" + account_key(secret, address)[:16]
    rules = (
        Rule("login_failures", 1, settings.login_failure_interval_seconds,
             settings.login_failures_burst),
        Rule("login_failures_long", 1, settings.login_failure_long_interval_seconds,
             settings.login_failures_long_burst),
    )  # fmt: skip
    return LoginFailures(throttle.limiter, [Limit(rule, key) for rule in rules], address=address)


@router.get("/auth/me", response_model=MeResponse, tags=["auth"], **allow(*SIGNED_IN))
async def who_am_i(principal: CurrentPrincipal) -> MeResponse:
    """The caller, as their token says."""
    return MeResponse(
        id=principal.subject,
        username=principal.username,
        role=principal.role,
        agencies=list(principal.agencies),
        identity_verified=principal.identity_verified,
    )


@router.get(
    "/health",
    response_model=PlatformHealth,
    tags=["health"],
    responses={503: {"model": PlatformHealth}},
    **allow(Grant.PUBLIC),
)
async def platform_health(request: Request) -> JSONResponse:
    """Readiness of the gateway and of every service behind it (503 if any is not ready)."""
    report = await health_service.platform_health(
        request.app.state.runtime, request.app.state.upstreams
    )
    return JSONResponse(report.model_dump(), status_code=200 if report.status == "ok" else 503)
