"""Logging in with the national digital identity (VNeID): the platform sends the
browser to the identity provider (in development its mock,
``services/national_portal/vneid.py``) and takes back a signed assertion of who the
citizen is. The account it names is marked identity-verified (the national index
counts those, Quyết định 766/QĐ-TTg 4.5); a citizen without an account gets one.

What binds the assertion to this browser's login: a random ``state`` kept in an
HttpOnly cookie and echoed by the provider, and the assertion's ``nonce``, a hash of
that state. An assertion expires within minutes and is accepted once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from services.gateway import identity
from services.gateway.config import GatewaySettings
from services.gateway.limits import UNAVAILABLE, Limiter, LimiterUnavailable
from shared.errors import Unauthorized, UpstreamUnavailable
from shared.settings import Mode

logger = logging.getLogger("onestop.gateway.vneid")

STATE_COOKIE = "onestop_vneid_state"
STATE_SECONDS = 600  # the citizen has this long to confirm in the provider's app
START_PATH = "/api/v1/auth/vneid"
CALLBACK_PATH = START_PATH + "/callback"
# Where a login begun by a page (``return_to``) goes back to, kept for the callback.
RETURN_COOKIE = "onestop_vneid_return"
# An unknown key id makes the key set be fetched again (the provider rotated its key),
# but not more often than this: a forged key id must not make every call a fetch.
REFETCH_SECONDS = 30.0
INVALID = "Xác thực VNeID không hợp lệ hoặc đã hết hạn. Vui lòng đăng nhập lại."


class AssertionRefused(Exception):
    """The assertion does not verify (signature, issuer, audience, expiry, nonce)."""


@dataclass(frozen=True)
class Identity:
    id_number: str
    full_name: str
    assertion_id: str
    expires: float


def nonce_of(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def new_state() -> str:
    return secrets.token_urlsafe(32)


def same_state(cookie: str | None, echoed: str) -> bool:
    return cookie is not None and hmac.compare_digest(cookie.encode(), echoed.encode())


def platform_base(settings: GatewaySettings, reached_at: str) -> str:
    """Where the browser reached the platform, so that the provider sends it back there
    and its state cookie goes with it. Embedded (one process, no proxy), the address it
    used: ``localhost`` and ``127.0.0.1`` are different sites to a browser. Otherwise the
    configured public URL: a Host header that came through proxies is not trusted."""
    if settings.platform.mode is Mode.EMBEDDED:
        return reached_at.rstrip("/")
    return settings.public_url.rstrip("/")


def authorize_redirect(settings: GatewaySettings, state: str, *, base: str) -> str:
    """Where the browser goes to confirm its identity (``base``: ``platform_base``); by
    default the mock the embedded platform serves at /dvcqg."""
    query = urlencode(
        {
            "client_id": settings.vneid_client_id,
            "redirect_uri": base + CALLBACK_PATH,
            "state": state,
            "nonce": nonce_of(state),
        }
    )
    endpoint = settings.vneid_authorize_url or base + "/dvcqg/vneid/authorize"
    return f"{endpoint}?{query}"


class ProviderKeys:
    """The provider's public keys by key id, fetched from its key set (JWKS)."""

    def __init__(self, client: httpx.AsyncClient | None, url: str) -> None:
        self._client = client
        self._url = url
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -REFETCH_SECONDS
        # Logins arriving together after a rotation wait for one fetch, and find the
        # new key in it, instead of being refused as "fetched too recently".
        self._fetching = asyncio.Lock()

    async def key(self, kid: str) -> jwt.PyJWK | None:
        if kid not in self._keys:
            async with self._fetching:
                stale = time.monotonic() - self._fetched_at >= REFETCH_SECONDS
                if kid not in self._keys and stale:
                    await self._fetch()
        return self._keys.get(kid)

    async def _fetch(self) -> None:
        self._fetched_at = time.monotonic()
        if self._client is None:  # a gateway set up without the portal's upstream
            raise ValueError("no client to read the VNeID key set with")
        response = await self._client.get(self._url, timeout=5)
        response.raise_for_status()
        keys = {}
        for entry in response.json().get("keys", []):
            try:
                keys[entry["kid"]] = jwt.PyJWK(entry)
            except (KeyError, jwt.PyJWKError):
                logger.warning("a key of the VNeID key set is not usable")
        self._keys = keys


async def verify(
    assertion: str, keys: ProviderKeys, settings: GatewaySettings, *, state: str
) -> Identity:
    """The identity an assertion vouches for, or ``AssertionRefused``."""
    try:
        kid = jwt.get_unverified_header(assertion).get("kid")
    except jwt.PyJWTError as exc:
        raise AssertionRefused("not a JWT") from exc
    if not isinstance(kid, str):
        raise AssertionRefused("no key id")
    try:
        key = await keys.key(kid)
    except (httpx.HTTPError, ValueError) as exc:
        raise AssertionRefused(f"the key set could not be read: {exc}") from exc
    if key is None:
        raise AssertionRefused("an unknown key id")
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion,
            key,
            algorithms=["RS256"],  # never what the token's header asks for
            audience=settings.vneid_client_id,
            issuer=settings.vneid_issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "nonce", "jti"]},
            leeway=30,
        )
    except jwt.PyJWTError as exc:
        raise AssertionRefused(str(exc)) from exc
    if not hmac.compare_digest(str(claims["nonce"]), nonce_of(state)):
        raise AssertionRefused("the nonce is not this login's")
    return Identity(
        id_number=str(claims["sub"]),
        full_name=str(claims.get("name") or ""),
        assertion_id=str(claims["jti"]),
        expires=float(claims["exp"]),
    )


async def accept(
    assertion: str,
    *,
    state: str,
    cookie: str | None,
    keys: ProviderKeys,
    limiter: Limiter,
    settings: GatewaySettings,
    today: date,
) -> Identity:
    """The identity of the provider's answer to this browser's login, or
    ``Unauthorized`` (``UpstreamUnavailable`` when its one use cannot be recorded)."""
    if not same_state(cookie, state):
        raise Unauthorized(INVALID)
    try:
        proven = await verify(assertion, keys, settings, state=state)
    except AssertionRefused as exc:
        logger.warning("a VNeID assertion was refused", extra={"reason": str(exc)})
        raise Unauthorized(INVALID) from None
    if identity.problems(proven.id_number, today=today):
        logger.warning("VNeID vouched for an ID number that does not check")
        raise Unauthorized(INVALID)
    try:
        first = await limiter.first_use(
            "vneid:" + proven.assertion_id, seconds=max(proven.expires - time.time(), 0) + 60
        )
    except LimiterUnavailable as exc:
        raise UpstreamUnavailable(UNAVAILABLE) from exc
    if not first:
        raise Unauthorized(INVALID)  # a replayed assertion
    return proven
