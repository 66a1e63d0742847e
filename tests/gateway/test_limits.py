"""Rate limits: the algorithm (in the process and in Redis), and the gateway's rules:
the public lookup, logins per address and failed logins per account, and what happens
when Redis is down (ordinary calls go through, logins are refused)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from services.gateway.limits import (
    Limit,
    Limiter,
    LimiterUnavailable,
    MemoryLimiter,
    RedisLimiter,
    Rule,
    Throttle,
    account_key,
)
from tests.conftest import SERVERS
from tests.infra import free_port
from tests.platform import Platform


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def rule(burst: int = 3) -> Rule:
    """60 a minute (one a second), ``burst`` at once; a name no other test uses."""
    return Rule(f"t{uuid.uuid4().hex[:8]}", 60, 60.0, burst)


async def test_the_burst_goes_through_then_one_a_second() -> None:
    clock = Clock()
    limiter = MemoryLimiter(clock)
    limit = Limit(rule(burst=3), "a")
    assert [await limiter.acquire([limit]) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert await limiter.acquire([limit]) == pytest.approx(1.0)
    clock.now += 0.5
    assert await limiter.acquire([limit]) == pytest.approx(0.5)
    clock.now += 0.5
    assert await limiter.acquire([limit]) == 0.0
    assert await limiter.acquire([limit]) > 0  # and only one
    clock.now += 10
    assert [await limiter.acquire([limit]) for _ in range(4)][:3] == [0.0, 0.0, 0.0]


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[Limiter]:
    if request.param == "memory":
        yield MemoryLimiter()
        return
    redis = Redis.from_url(SERVERS.redis_url)
    try:
        yield RedisLimiter(redis)
    finally:
        await redis.aclose()


async def test_a_call_over_one_limit_uses_none_of_the_others(limiter: Limiter) -> None:
    narrow, wide = Limit(rule(burst=1), "x"), Limit(rule(burst=5), "x")
    assert await limiter.acquire([narrow, wide]) == 0
    for _ in range(3):
        assert await limiter.acquire([narrow, wide]) > 0  # refused by the narrow one
    # The wide limit counted only the call that went through: four more fit.
    assert [await limiter.acquire([wide]) for _ in range(5)] == [
        0,
        0,
        0,
        0,
        pytest.approx(1.0, abs=0.05),
    ]


async def test_a_check_without_consuming_counts_nothing(limiter: Limiter) -> None:
    limit = Limit(rule(burst=2), "y")
    for _ in range(5):
        assert await limiter.acquire([limit], consume=False) == 0
    assert await limiter.acquire([limit]) == 0
    assert await limiter.acquire([limit]) == 0
    assert await limiter.acquire([limit], consume=False) > 0


async def test_redis_down_is_reported_not_hidden() -> None:
    redis = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    try:
        with pytest.raises(LimiterUnavailable):
            await RedisLimiter(redis).acquire([Limit(rule(), "z")])
    finally:
        await redis.aclose()


def test_the_address_behind_trusted_proxies_is_the_one_they_saw() -> None:
    scope = {"client": ("10.0.0.5", 1), "headers": [(b"x-forwarded-for", b"1.2.3.4, 203.0.113.9")]}
    throttle = Throttle(MemoryLimiter(), caller=rule(), address=rule(), lookup=rule(),
                        login=rule(), claims_of=lambda _: None)  # fmt: skip
    assert throttle.address(scope) == "10.0.0.5"  # no proxy trusted: the header is anyone's
    behind = Throttle(MemoryLimiter(), caller=rule(), address=rule(), lookup=rule(),
                      login=rule(), claims_of=lambda _: None, trusted_proxies=1)  # fmt: skip
    assert behind.address(scope) == "203.0.113.9"


def test_an_account_key_holds_no_personal_data() -> None:
    key = account_key("secret", "001099000001")
    assert "001099000001" not in key
    assert key == account_key("secret", " 001099000001 ")
    assert key != account_key("other secret", "001099000001")


# -- through the gateway --------------------------------------------------------------------


async def login(api: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await api.post("/api/v1/auth/token", data={"username": username, "password": password})


async def test_guessing_lookup_codes_is_stopped_with_429_and_retry_after(
    platform: Platform,
) -> None:
    answers = [
        await platform.client.get(f"/api/v1/lookup/000.00.15.H49-261201-{n:04}") for n in range(12)
    ]
    assert [a.status_code for a in answers[:10]] == [404] * 10  # the burst: 10
    refused = answers[10]
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["title"] == "Quá nhiều yêu cầu"
    # Other routes from the same address are not held to the lookup's limit.
    assert (await platform.client.get("/api/v1/procedures/TTHC-20")).status_code == 200


async def test_failed_logins_lock_the_account_for_a_while_not_the_others(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(5):
        assert (await login(platform.client, "canbo1", "wrong")).status_code == 401
    locked = await login(platform.client, "canbo1", "canbo-demo")  # even the right password
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 60
    assert (await login(platform.client, "001099000001", "congdan-demo")).status_code == 200
    [event] = [r for r in caplog.records if getattr(r, "event", None) == "login.locked_out"]
    assert "canbo1" not in str(event.__dict__)  # the account by its keyed hash only


async def test_guessing_from_one_place_does_not_lock_the_owner_out_elsewhere(
    platform: Platform,
) -> None:
    async with platform.client_at("198.51.100.7") as attacker:
        for _ in range(5):
            assert (await login(attacker, "canbo1", "wrong")).status_code == 401
        assert (await login(attacker, "canbo1", "canbo-demo")).status_code == 429
    async with platform.client_at("203.0.113.20") as desk:
        assert (await login(desk, "canbo1", "canbo-demo")).status_code == 200


async def test_the_delays_grow_past_the_long_burst() -> None:
    clock = Clock()
    limiter = MemoryLimiter(clock)
    short, long = Rule("f", 1, 180.0, 5), Rule("f_long", 1, 3600.0, 20)
    limits = [Limit(short, "k"), Limit(long, "k")]
    waits = []
    for _ in range(24):  # a guesser who comes back as soon as let in
        wait = await limiter.acquire(limits, consume=False)
        clock.now += wait
        waits.append(wait)
        assert await limiter.acquire(limits) == 0
    assert waits[:5] == [0.0] * 5
    assert all(w == pytest.approx(180.0) for w in waits[5:20])  # one every 3 minutes
    assert all(w > 1800.0 for w in waits[21:])  # then about one an hour


async def test_logins_from_one_address_are_limited(platform: Platform) -> None:
    codes = [(await login(platform.client, f"user{n}", "x")).status_code for n in range(11)]
    assert codes == [401] * 10 + [429]


async def test_with_redis_down_reads_go_through_and_logins_are_refused(
    platform: Platform,
) -> None:
    throttle = platform.apps["gateway"].state.throttle
    dead = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    throttle.limiter = RedisLimiter(dead)
    try:
        assert (await platform.client.get("/api/v1/procedures/TTHC-20")).status_code == 200
        refused = await login(platform.client, "canbo1", "canbo-demo")
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "5"
        assert refused.headers["content-type"] == "application/problem+json"
    finally:
        await dead.aclose()
