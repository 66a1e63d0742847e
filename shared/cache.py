"""A read cache: Redis in distributed mode (shared by every instance), memory in embedded mode.

Invalidation is by generation: keys carry their namespace's generation number, and
``invalidate`` increments it, so every entry of the namespace is unreachable at once on
every instance (old entries expire by their TTL). The cache never fails a read: a cache
that cannot be reached is a miss.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from typing import Protocol, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger("onestop.cache")


class Cache(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, *, ttl_seconds: int) -> None: ...

    async def incr(self, key: str) -> int: ...


class RedisCache:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def get(self, key: str) -> str | None:
        # The platform's client decodes responses (decode_responses=True).
        return cast(str | None, await self._redis.get(key))

    async def set(self, key: str, value: str, *, ttl_seconds: int) -> None:
        await self._redis.set(key, value, ex=ttl_seconds)

    async def incr(self, key: str) -> int:
        return int(await self._redis.incr(key))


class MemoryCache:
    """In one process: bounded, least recently used entries go first."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._max_entries = max_entries

    async def get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if expires_at < time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: str, *, ttl_seconds: int) -> None:
        self._entries[key] = (time.monotonic() + ttl_seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def incr(self, key: str) -> int:
        current = int((await self.get(key)) or 0) + 1
        self._entries[key] = (float("inf"), str(current))
        return current


class Namespace:
    """A family of cached values invalidated together (e.g. the published catalogue)."""

    def __init__(self, cache: Cache, name: str, *, ttl_seconds: int = 300) -> None:
        self._cache = cache
        self._name = name
        self._ttl = ttl_seconds

    async def _key(self, parts: str) -> str | None:
        try:
            generation = await self._cache.get(f"{self._name}:generation") or "0"
        except RedisError:
            logger.warning("cache unreachable", extra={"namespace": self._name})
            return None
        digest = hashlib.sha256(parts.encode()).hexdigest()[:32]
        return f"{self._name}:{generation}:{digest}"

    async def get(self, parts: str) -> tuple[str | None, str | None]:
        """The cached value (or None) and the key to store a fresh one under (None: don't)."""
        key = await self._key(parts)
        if key is None:
            return None, None
        try:
            return await self._cache.get(key), key
        except RedisError:
            return None, None

    async def put(self, key: str | None, value: str) -> None:
        if key is None:
            return
        try:
            await self._cache.set(key, value, ttl_seconds=self._ttl)
        except RedisError:
            logger.warning("cache unreachable", extra={"namespace": self._name})

    async def invalidate(self) -> None:
        try:
            await self._cache.incr(f"{self._name}:generation")
        except RedisError:
            # Entries expire within the TTL; say so loudly.
            logger.error("cache invalidation failed", extra={"namespace": self._name})
