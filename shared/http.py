"""Pooled HTTP clients with explicit timeouts that carry the request id downstream."""

from __future__ import annotations

import httpx

from shared.logging import REQUEST_ID_HEADER, current_request_id

# Every downstream call has a bound on each phase: a slow service fails fast and visibly.
DEFAULT_TIMEOUT = httpx.Timeout(connect=2.0, read=10.0, write=10.0, pool=2.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=50)


async def _propagate_request_id(request: httpx.Request) -> None:
    request_id = current_request_id()
    if request_id and REQUEST_ID_HEADER not in request.headers:
        request.headers[REQUEST_ID_HEADER] = request_id


def create_http_client(
    base_url: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
) -> httpx.AsyncClient:
    """One client per downstream service, created in the lifespan and reused.

    ``transport`` selects how bytes travel: ``httpx.ASGITransport`` for a service in the
    same process (embedded mode), the default pooled transport for sockets.
    """
    return httpx.AsyncClient(
        base_url=base_url,
        transport=transport,
        timeout=timeout,
        limits=DEFAULT_LIMITS,
        event_hooks={"request": [_propagate_request_id]},
    )
