"""A browser's login and its forms' CSRF tokens, kept in cookies.

The login is the API's own: the access and refresh tokens it issued, in an HttpOnly
cookie (Secure in production, SameSite=Lax), so no script can read them; logging out
ends the API session too. Every form that changes something carries a CSRF token, an
HMAC of a random value held in another cookie: a page of another site can make the
browser send the cookie, never read it to make the token.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt

SESSION_COOKIE = "onestop_session"
CSRF_COOKIE = "onestop_csrf"
CSRF_FIELD = "csrf"
# How long a browser keeps the login cookie: the refresh token's own life bounds it.
SESSION_SECONDS = 7 * 86_400


@dataclass(frozen=True)
class Tokens:
    access: str
    refresh: str | None

    def encode(self) -> str:
        raw = json.dumps({"a": self.access, "r": self.refresh}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str | None) -> Tokens | None:
        if not value or len(value) > 4096:
            return None
        try:
            raw = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        except (ValueError, binascii.Error):
            return None
        if not isinstance(raw, dict):
            return None
        access, refresh = raw.get("a"), raw.get("r")
        if not isinstance(access, str) or not (refresh is None or isinstance(refresh, str)):
            return None
        return cls(access, refresh)

    @classmethod
    def issued(cls, body: dict[str, Any]) -> Tokens:
        return cls(str(body["access_token"]), body.get("refresh_token"))


@dataclass(frozen=True)
class Account:
    """Who is logged in, read from the access token for what a page shows and which
    calls it makes (an officer's agencies: whose queue to ask for). It decides nothing:
    every call is checked by the API, which verifies the token."""

    username: str
    role: str
    subject: str = ""
    agencies: tuple[tuple[str, str], ...] = ()  # (agency code, position), as issued

    @property
    def at_a_desk(self) -> bool:
        """A desk officer somewhere (files dossiers for citizens at the counter)."""
        return any(position == "desk" for _, position in self.agencies)

    @classmethod
    def of(cls, tokens: Tokens | None) -> Account | None:
        if tokens is None:
            return None
        try:
            claims = jwt.decode(tokens.access, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        memberships = claims.get("agencies")
        agencies = tuple(
            (str(m.get("agency_code")), str(m.get("position")))
            for m in (memberships if isinstance(memberships, list) else [])
            if isinstance(m, dict)
        )
        return cls(
            str(claims.get("username") or ""),
            str(claims.get("role") or ""),
            str(claims.get("sub") or ""),
            agencies,
        )


class Refresher:
    """Trades a refresh token once, however many of one browser's requests find the
    access token expired together: the API ends a login whose refresh token is used a
    second time (it must have been copied), so the others wait for the first trade and
    reuse its answer for a short while."""

    REUSE_SECONDS = 30.0

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._traded: dict[str, tuple[float, Tokens | None]] = {}

    async def trade(self, refresh: str, exchange: Any) -> Tokens | None:
        """``exchange(refresh)`` -> the new tokens, or None when the login is over."""
        now = time.monotonic()
        self._forget(now)
        lock = self._locks.setdefault(refresh, asyncio.Lock())
        async with lock:
            if refresh in self._traded:
                return self._traded[refresh][1]
            tokens: Tokens | None = await exchange(refresh)
            self._traded[refresh] = (time.monotonic(), tokens)
            return tokens

    def _forget(self, now: float) -> None:
        stale = [key for key, (at, _) in self._traded.items() if now - at > self.REUSE_SECONDS]
        for key in stale:
            del self._traded[key]
            lock = self._locks.get(key)
            if lock is not None and not lock.locked():
                del self._locks[key]


def new_csrf_seed() -> str:
    return secrets.token_urlsafe(32)


def csrf_token(key: bytes, seed: str) -> str:
    digest = hmac.new(key, seed.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def csrf_valid(key: bytes, seed: str | None, token: str | None) -> bool:
    if not seed or not token:
        return False
    return hmac.compare_digest(csrf_token(key, seed).encode(), token.encode())
