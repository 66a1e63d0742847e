"""The read cache: expiry, bounded memory, generations, and a dead Redis is only a miss."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from shared.cache import MemoryCache, Namespace, RedisCache
from tests.infra import free_port


class TestMemoryCache:
    async def test_a_value_expires(self) -> None:
        cache = MemoryCache()
        await cache.set("k", "v", ttl_seconds=0)
        assert await cache.get("k") is None

    async def test_the_least_recently_used_entry_goes_first(self) -> None:
        cache = MemoryCache(max_entries=2)
        await cache.set("a", "1", ttl_seconds=60)
        await cache.set("b", "2", ttl_seconds=60)
        assert await cache.get("a") == "1"  # a is now the most recent
        await cache.set("c", "3", ttl_seconds=60)
        assert (await cache.get("a"), await cache.get("b"), await cache.get("c")) == (
            "1",
            None,
            "3",
        )


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_invalidating_a_namespace_hides_its_entries_and_only_its_own(
    backend: str, redis: Redis, topic: str
) -> None:
    cache = MemoryCache() if backend == "memory" else RedisCache(redis)
    mine, other = Namespace(cache, f"{topic}:a"), Namespace(cache, f"{topic}:b")
    for namespace in (mine, other):
        _, key = await namespace.get("q")
        await namespace.put(key, "cached")
    await mine.invalidate()
    assert (await mine.get("q"))[0] is None
    assert (await other.get("q"))[0] == "cached"


async def test_an_unreachable_redis_is_a_miss_not_an_error() -> None:
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2)
    namespace = Namespace(RedisCache(dead), "any")
    try:
        assert await namespace.get("q") == (None, None)
        await namespace.put("any:0:x", "v")
        await namespace.invalidate()
    finally:
        await dead.aclose()
