"""Request ids: a caller's is kept only when it has a safe shape and holds no personal
data; otherwise one is made, and it replaces the caller's downstream too."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from shared.logging import JsonFormatter, RequestContextMiddleware, current_request_id


async def echo(request: Request) -> JSONResponse:
    logging.getLogger("onestop.test").info("handled")
    return JSONResponse(
        {"seen": request.headers.getlist("x-request-id"), "context": current_request_id()}
    )


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = RequestContextMiddleware(Starlette(routes=[Route("/", echo)]))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


@pytest.mark.parametrize("kept", ["req-42", "e2e-login", "5f0c9a7e-3b1d-4c2a-9e8f-0a1b2c3d4e5f"])
async def test_a_well_formed_request_id_is_kept(client: httpx.AsyncClient, kept: str) -> None:
    answer = await client.get("/", headers={"x-request-id": kept})
    assert answer.headers["x-request-id"] == kept
    assert answer.json() == {"seen": [kept], "context": kept}


@pytest.mark.parametrize(
    "refused",
    [
        "001099000001",  # a citizen's ID number
        "req-001099000001",
        "0912345678",  # a phone number
        "an@example.com",
        "has space",
        "x" * 65,
        "-starts-with-a-dash",
        "line\\nbreak",
    ],
)
async def test_an_unsafe_request_id_is_replaced_everywhere(
    client: httpx.AsyncClient, refused: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        answer = await client.get("/", headers={"x-request-id": refused})
    made = answer.headers["x-request-id"]
    assert made != refused
    assert answer.json() == {"seen": [made], "context": made}  # downstream sees only it
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert lines
    assert all(refused not in line for line in lines)
