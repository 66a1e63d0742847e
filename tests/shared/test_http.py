"""Downstream calls carry the request id of the request that made them."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from shared.http import create_http_client
from shared.logging import set_request_id


async def echo_request_id(request: Request) -> JSONResponse:
    return JSONResponse({"request_id": request.headers.get("x-request-id")})


APP = Starlette(routes=[Route("/", echo_request_id)])


async def test_a_downstream_call_carries_the_current_request_id() -> None:
    async with create_http_client("http://svc", transport=httpx.ASGITransport(app=APP)) as client:
        set_request_id("req-7")
        try:
            assert (await client.get("/")).json() == {"request_id": "req-7"}
        finally:
            set_request_id(None)
        assert (await client.get("/")).json() == {"request_id": None}


async def test_every_phase_of_a_call_has_a_timeout() -> None:
    async with create_http_client("http://svc") as client:
        timeout = client.timeout
        assert None not in (timeout.connect, timeout.read, timeout.write, timeout.pool)
