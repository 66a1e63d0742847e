"""Rate limits (DESIGN §11): per caller, per address, tighter for the public lookup and
for logins, and failed logins per account. And revoked tokens (a logout), which are
asked in the same call to the same store: one round trip per request for both.

The algorithm is GCRA (the generic cell rate algorithm): one number per key, the
instant the next call would be due at the sustained rate. A call is let through when
that instant is no more than the burst ahead of now. Distributed, the numbers live in
Redis, so that every gateway replica counts the same calls, and one script checks every
key of a call at Redis's own clock: a call refused by one limit uses none of the
others. Embedded, they live in the process.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.types import Scope, Send

from shared.auth import TokenClaims
from shared.errors import problem_response

logger = logging.getLogger("onestop.gateway.limits")
KEY_PREFIX = "onestop:rl:"
REVOKED_PREFIX = "onestop:revoked:"
ONCE_PREFIX = "onestop:once:"
# What ``acquire`` answers for a token on the revocation list.
REVOKED = -1.0


@dataclass(frozen=True)
class Rule:
    """``count`` calls every ``seconds`` sustained, up to ``burst`` at once."""

    name: str
    count: int
    seconds: float
    burst: int

    @property
    def interval_us(self) -> int:
        return math.ceil(self.seconds * 1_000_000 / self.count)

    @property
    def capacity_us(self) -> int:
        return self.interval_us * self.burst


@dataclass(frozen=True)
class Limit:
    """One rule applied to one key (an address, a caller, an account)."""

    rule: Rule
    key: str

    @property
    def redis_key(self) -> str:
        return f"{KEY_PREFIX}{self.rule.name}:{self.key}"


class LimiterUnavailable(Exception):
    """The counts cannot be read (Redis down): the caller decides to open or to close."""


class Limiter(Protocol):
    async def acquire(
        self, limits: Sequence[Limit], *, consume: bool = True, token_id: str | None = None
    ) -> float:
        """0 if a call within every limit may go ahead (counted when ``consume``), else
        the seconds to wait before one may; ``REVOKED`` if ``token_id`` was revoked.
        Raises ``LimiterUnavailable``."""
        ...

    async def revoke(self, token_id: str, *, seconds: float) -> None:
        """Refuse the token (``TokenClaims.revocation_id``: a login or one token) from now
        on, for ``seconds``: the longest its access tokens may still live."""
        ...

    async def first_use(self, key: str, *, seconds: float) -> bool:
        """True the first time ``key`` is used within ``seconds`` (a one-time credential's
        id), False every other time."""
        ...


# KEYS: one per limit, then the token's revocation key if ARGV's last is 1. ARGV: the
# interval and capacity (µs) of each limit, 1 to consume, 1 if a token is to be checked.
# Returns -1 for a revoked token, else the wait in µs (0: allowed, and counted against
# every key when consuming).
GCRA_SCRIPT = """
local limits = #KEYS
if ARGV[#ARGV] == '1' then
  limits = limits - 1
  if redis.call('EXISTS', KEYS[#KEYS]) == 1 then return -1 end
end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local consume = ARGV[limits * 2 + 1] == '1'
local wait = 0
local next_due = {}
for i = 1, limits do
  local key = KEYS[i]
  local interval = tonumber(ARGV[i * 2 - 1])
  local capacity = tonumber(ARGV[i * 2])
  local due = tonumber(redis.call('GET', key) or now)
  if due < now then due = now end
  next_due[i] = due + interval
  local ahead = next_due[i] - now - capacity
  if ahead > wait then wait = ahead end
end
if wait == 0 and consume then
  for i = 1, limits do
    redis.call('SET', KEYS[i], next_due[i], 'PX', math.ceil((next_due[i] - now) / 1000) + 1)
  end
end
return wait
"""


class RedisLimiter:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._script = redis.register_script(GCRA_SCRIPT)

    async def acquire(
        self, limits: Sequence[Limit], *, consume: bool = True, token_id: str | None = None
    ) -> float:
        if not limits and not token_id:
            return 0.0
        keys = [limit.redis_key for limit in limits]
        arguments: list[int] = []
        for limit in limits:
            arguments += [limit.rule.interval_us, limit.rule.capacity_us]
        arguments.append(1 if consume else 0)
        if token_id:
            keys.append(REVOKED_PREFIX + token_id)
        arguments.append(1 if token_id else 0)
        try:
            wait = int(await self._script(keys=keys, args=arguments))
        except (RedisError, OSError) as exc:
            raise LimiterUnavailable(str(exc)) from exc
        return REVOKED if wait < 0 else wait / 1_000_000

    async def revoke(self, token_id: str, *, seconds: float) -> None:
        try:
            await self._redis.set(
                REVOKED_PREFIX + token_id, 1, px=max(math.ceil(seconds * 1000), 1)
            )
        except (RedisError, OSError) as exc:
            raise LimiterUnavailable(str(exc)) from exc

    async def first_use(self, key: str, *, seconds: float) -> bool:
        try:
            first = await self._redis.set(
                ONCE_PREFIX + key, 1, px=max(math.ceil(seconds * 1000), 1), nx=True
            )
        except (RedisError, OSError) as exc:
            raise LimiterUnavailable(str(exc)) from exc
        return bool(first)


class MemoryLimiter:
    """The same algorithm in the process (embedded mode: one process, one count)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000):
        self._clock = clock
        self._due: dict[str, float] = {}
        self._revoked: dict[str, float] = {}  # token id -> until
        self._max_keys = max_keys

    async def acquire(
        self, limits: Sequence[Limit], *, consume: bool = True, token_id: str | None = None
    ) -> float:
        now = self._clock()
        if token_id and self._revoked.get(token_id, now) > now:
            return REVOKED
        next_due = []
        wait = 0.0
        for limit in limits:
            due = max(self._due.get(limit.redis_key, now), now)
            following = due + limit.rule.interval_us / 1_000_000
            next_due.append(following)
            wait = max(wait, following - now - limit.rule.capacity_us / 1_000_000)
        if wait <= 0 and consume:
            if len(self._due) > self._max_keys:
                self._forget(now)
            for limit, following in zip(limits, next_due, strict=True):
                self._due[limit.redis_key] = following
        return max(wait, 0.0)

    async def revoke(self, token_id: str, *, seconds: float) -> None:
        now = self._clock()
        self._revoked = {t: until for t, until in self._revoked.items() if until > now}
        self._revoked[token_id] = now + seconds

    async def first_use(self, key: str, *, seconds: float) -> bool:
        # The same table as revocations: both are ids refused until they expire.
        once = ONCE_PREFIX + key
        if self._revoked.get(once, 0.0) > self._clock():
            return False
        await self.revoke(once, seconds=seconds)
        return True

    def _forget(self, now: float) -> None:
        """Keys whose count has run out (as Redis expires them)."""
        self._due = {key: due for key, due in self._due.items() if due > now}


def account_key(secret: str, username: str) -> str:
    """A login name as a key: keyed-hashed, since a citizen's is their ID number and
    personal data stays out of keys and logs."""
    digest = hmac.new(secret.encode(), username.strip().lower().encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def retry_after(wait: float) -> str:
    """``Retry-After`` in whole seconds, at least 1."""
    return str(max(1, math.ceil(wait)))


class Throttle:
    """Which limits a request is held to, whether its token was revoked, and what to
    answer when it is over a limit (429) or logged out (401).

    - every API call: per address, and per caller when its token verifies;
    - the public lookup: tighter per address (codes must not be guessable by trying);
    - logins: tighter per address; the login route adds failures per account.

    When the counts cannot be read, reads and ordinary calls go through (a Redis outage
    must not stop the desks; a logged-out token then lives out its few minutes), and
    logins are refused (guessing passwords must not get easier because Redis is down).
    With the limits disabled, revocation is still checked.
    """

    def __init__(
        self,
        limiter: Limiter,
        *,
        caller: Rule,
        address: Rule,
        lookup: Rule,
        login: Rule,
        claims_of: Callable[[str], TokenClaims | None],
        trusted_proxies: int = 0,
        enabled: bool = True,
    ) -> None:
        self.limiter = limiter
        self.enabled = enabled
        self._caller = caller
        self._address = address
        self._lookup = lookup
        self._login = login
        self._claims_of = claims_of
        self._trusted_proxies = trusted_proxies
        self._warned_at = -math.inf

    def _warn(self, error: Exception, *, login: bool) -> None:
        """Once a minute at most: an outage would otherwise log every request."""
        now = time.monotonic()
        if now - self._warned_at >= 60:
            self._warned_at = now
            logger.warning(
                "rate limits unavailable: ordinary calls go through, logins are refused",
                extra={"error": str(error), "login": login},
            )

    def limits(self, scope: Scope, claims: TokenClaims | None) -> list[Limit]:
        address = self.address(scope)
        path: str = scope["path"]
        limits = [Limit(self._address, address)]
        if claims is not None:
            limits.append(Limit(self._caller, claims.principal.subject))
        if path.startswith(LOOKUP_PREFIX):
            limits.append(Limit(self._lookup, address))
        if path in LOGIN_PATHS:
            limits.append(Limit(self._login, address))
        return limits

    def address(self, scope: Scope) -> str:
        """The client's address; behind ``trusted_proxies`` proxies, the one the
        outermost of them saw (X-Forwarded-For, counted from the right)."""
        client = scope.get("client")
        address = client[0] if client else "unknown"
        if self._trusted_proxies:
            forwarded = [
                part.strip()
                for name, value in scope["headers"]
                if name == b"x-forwarded-for"
                for part in value.decode("latin-1").split(",")
            ]
            if len(forwarded) >= self._trusted_proxies:
                address = forwarded[-self._trusted_proxies]
        return address

    async def admit(self, scope: Scope, send: Send) -> bool:
        """Whether the request may go on; if not, its answer (401, 429 or 503) is sent."""
        token = _bearer(scope)
        claims = self._claims_of(token) if token else None
        limits = self.limits(scope, claims) if self.enabled else []
        try:
            wait = await self.limiter.acquire(
                limits, token_id=claims.revocation_id if claims is not None else None
            )
        except LimiterUnavailable as exc:
            login = scope["path"] in LOGIN_PATHS
            self._warn(exc, login=login)
            if not login:
                return True
            await _problem(send, 503, UNAVAILABLE, "5")
            return False
        if wait == REVOKED:
            await _problem(send, 401, LOGGED_OUT, None)
            return False
        if wait <= 0:
            return True
        await _problem(send, 429, TOO_MANY, retry_after(wait))
        return False


LOOKUP_PREFIX = "/api/v1/lookup/"
# Where passwords are tried or accounts made: limited per address, closed without Redis.
LOGIN_PATHS = frozenset(
    {
        "/api/v1/auth/token",
        "/api/v1/auth/register",
        "/api/v1/auth/refresh",
        "/api/v1/auth/vneid/callback",
    }
)
LOGGED_OUT = "Phiên đăng nhập đã kết thúc. Vui lòng đăng nhập lại."
TOO_MANY = "Bạn gửi quá nhiều yêu cầu. Vui lòng thử lại sau ít phút."
UNAVAILABLE = "Tạm thời không đăng nhập được. Vui lòng thử lại sau."


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


SLUGS = {401: "unauthorized", 429: "too-many-requests", 503: "unavailable"}


async def _problem(send: Send, status: int, detail: str, wait: str | None) -> None:
    headers = {"Retry-After": wait} if wait else {"WWW-Authenticate": "Bearer"}
    response = problem_response(status, detail=detail, slug=SLUGS[status], headers=headers)
    await send({"type": "http.response.start", "status": status, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})
