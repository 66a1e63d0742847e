"""The published catalogue's read cache, invalidated after a change commits.

Invalidating before the commit would let a reader in between cache the old catalogue
under the new generation. So a change is marked during the request and the generation
is bumped by a dependency that exits after the unit of work: an endpoint lists
``CatalogueChangeDep`` before ``SessionDep`` (dependencies exit in reverse order).
"""

import hashlib
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from shared.cache import Cache, Namespace, RedisCache
from shared.runtime import connect_redis
from shared.settings import ServiceSettings

NAMESPACE = "procedures:catalogue"


def catalogue_namespace(cache: Cache, db_url: str) -> Namespace:
    # Scoped to this catalogue's database: deployments (or test databases) sharing one
    # Redis must never read each other's pages.
    scope = hashlib.sha256(db_url.encode()).hexdigest()[:12]
    return Namespace(cache, f"{NAMESPACE}:{scope}", ttl_seconds=300)


def cache_of(request: Request) -> Namespace:
    runtime = request.app.state.runtime
    return catalogue_namespace(runtime.cache, runtime.settings.db_url)


async def catalogue_cache(request: Request) -> Namespace:
    # async: FastAPI runs a plain ``def`` dependency in a worker thread, a hop per request.
    return cache_of(request)


async def invalidate_shared_cache(settings: ServiceSettings) -> None:
    """Drop the cached catalogue from outside the service (after ``onestop seed``).

    Only a distributed deployment shares its cache; an embedded one keeps it in the
    memory of the process that serves, which starts empty.
    """
    if not settings.uses_redis:
        return
    redis = connect_redis(settings.platform.redis_url)
    try:
        await catalogue_namespace(RedisCache(redis), settings.db_url).invalidate()
    finally:
        await redis.aclose()


class CatalogueChange:
    """Set ``changed`` when the request changed what the public sees."""

    changed = False


async def catalogue_change(request: Request) -> AsyncIterator[CatalogueChange]:
    change = CatalogueChange()
    yield change  # an exception here (the request failed) skips the invalidation
    if change.changed:
        await cache_of(request).invalidate()


CatalogueCacheDep = Annotated[Namespace, Depends(catalogue_cache)]
CatalogueChangeDep = Annotated[CatalogueChange, Depends(catalogue_change, scope="function")]
