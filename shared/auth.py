"""Authentication primitives: signed JWTs, argon2 password hashes, roles.

The gateway issues tokens; every service verifies them with the same settings, so a
service trusts no header but the signed token.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import anyio.to_thread
import jwt
from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.errors import Forbidden, Unauthorized
from shared.settings import PlatformSettings

EXPIRED = "Phiên đăng nhập đã hết hạn."


class Role(StrEnum):
    CITIZEN = "citizen"
    OFFICER = "officer"
    ADMIN = "admin"


class Position(StrEnum):
    DESK = "desk"  # cán bộ một cửa
    SPECIALIST = "specialist"  # chuyên viên xử lý
    LEADER = "leader"  # lãnh đạo


# How people read each position (a citizen sees who handled their dossier this way).
POSITION_LABELS = {
    Position.DESK: "Cán bộ một cửa",
    Position.SPECIALIST: "Chuyên viên xử lý",
    Position.LEADER: "Lãnh đạo",
}


class AgencyMembership(BaseModel):
    model_config = ConfigDict(frozen=True)

    agency_code: str
    position: Position


class Principal(BaseModel):
    """Who is calling, as the signed token says."""

    model_config = ConfigDict(frozen=True)

    subject: str
    username: str
    role: Role
    agencies: tuple[AgencyMembership, ...] = ()
    # A citizen the national digital identity (VNeID) vouched for.
    identity_verified: bool = False

    def is_member_of(self, agency_code: str) -> bool:
        return any(m.agency_code == agency_code for m in self.agencies)

    def membership_among(self, agency_codes: Iterable[str]) -> AgencyMembership | None:
        """The caller's first membership of one of ``agency_codes`` (in their order)."""
        for agency_code in agency_codes:
            for membership in self.agencies:
                if membership.agency_code == agency_code:
                    return membership
        return None


@dataclass(frozen=True)
class TokenClaims:
    principal: Principal
    token_id: str  # jti: what a logout revokes
    expires: float  # epoch seconds
    session_id: str | None = None  # sid: the login (its refresh tokens' family)

    @property
    def revocation_id(self) -> str:
        """What a revocation names: the login, so that ending it refuses every access
        token it gave (each refresh gives another); a token of no login, by its id."""
        return login_revocation_id(self.session_id) if self.session_id else f"jti:{self.token_id}"


def login_revocation_id(session_id: str) -> str:
    """What revoking a login names (``TokenClaims.revocation_id`` of its tokens)."""
    return f"sid:{session_id}"


class TokenService:
    """Issue and verify access tokens with issuer, audience, expiry and an algorithm allow-list."""

    def __init__(
        self,
        *,
        secret: str,
        issuer: str,
        audience: str,
        algorithms: list[str],
        ttl: timedelta,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self._algorithms = list(algorithms)
        self._ttl = ttl
        self._clock = clock  # epoch seconds, for the expiry of a token verified before
        # A token is checked on every request, by each service it passes through (a
        # submission: gateway, intake, documents), and its signature check was a tenth
        # of a queue page's CPU. The same bytes verify the same way until they expire:
        # keep the verified ones (not the failures) and check only the expiry again.
        # Revocation (a logout) is asked on every request all the same, by the gateway.
        self._verified = functools.lru_cache(maxsize=4096)(self._decode)

    @classmethod
    def from_settings(cls, settings: PlatformSettings) -> TokenService:
        return cls(
            secret=settings.jwt_secret.get_secret_value(),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            algorithms=settings.jwt_algorithms,
            ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        )

    @property
    def ttl(self) -> timedelta:
        return self._ttl

    def issue(
        self, principal: Principal, *, now: datetime | None = None, session_id: str | None = None
    ) -> str:
        """An access token; ``session_id`` names the login it belongs to (its refresh
        tokens), so that a logout can end that login."""
        issued_at = now or datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": principal.subject,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": issued_at + self._ttl,
            "jti": uuid.uuid4().hex,
            "username": principal.username,
            "role": principal.role.value,
            "agencies": [m.model_dump(mode="json") for m in principal.agencies],
        }
        if session_id is not None:
            claims["sid"] = session_id
        if principal.identity_verified:
            claims["idv"] = True
        return jwt.encode(claims, self._secret, algorithm=self._algorithms[0])

    def verify(self, token: str) -> Principal:
        """Return the token's principal, or raise ``Unauthorized``."""
        return self.claims(token).principal

    def claims(self, token: str) -> TokenClaims:
        """The token's principal, id and expiry, or ``Unauthorized``. (Whether it was
        revoked is the gateway's question: ``services/gateway/limits.py``.)"""
        claims = self._verified(token)
        if self._clock() >= claims.expires:
            raise Unauthorized(EXPIRED)
        return claims

    def _decode(self, token: str) -> TokenClaims:
        """The claims of a token that verifies now."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
            principal = Principal(
                subject=claims["sub"],
                username=claims["username"],
                role=Role(claims["role"]),
                agencies=tuple(AgencyMembership(**m) for m in claims.get("agencies", [])),
                identity_verified=claims.get("idv") is True,
            )
            return TokenClaims(
                principal, str(claims.get("jti") or ""), float(claims["exp"]), claims.get("sid")
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized(EXPIRED) from exc
        except (jwt.PyJWTError, KeyError, ValueError, TypeError, ValidationError) as exc:
            raise Unauthorized("Mã truy cập không hợp lệ.") from exc


class PasswordHasher:
    """argon2id hashing, run off the event loop (it is deliberately slow and memory-hard)."""

    def __init__(self, hasher: Argon2Hasher | None = None) -> None:
        self._hasher = hasher or Argon2Hasher()
        self._decoy: str | None = None

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        def check() -> bool:
            try:
                return self._hasher.verify(password_hash, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        return await anyio.to_thread.run_sync(check)

    async def verify_unknown_user(self, password: str) -> None:
        """Do the work of a failed verification, for a username that does not exist."""
        if self._decoy is None:
            self._decoy = await self.hash(uuid.uuid4().hex)
        await self.verify(self._decoy, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return token.strip()


async def get_principal(request: Request) -> Principal:
    """The verified caller; 401 without a valid bearer token."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("Cần đăng nhập.")
    tokens: TokenService = request.app.state.runtime.tokens
    return tokens.verify(token)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_role(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that lets through only callers holding one of ``roles``."""
    allowed = frozenset(roles)

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise Forbidden("Tài khoản không có quyền thực hiện thao tác này.")
        return principal

    return dependency
