"""What crosses the gateway's forwarding path, in-process (embedded) and over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import anyio.to_thread
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from services.gateway.config import GatewaySettings
from services.gateway.main import GatewayApp, create_app, spec
from services.gateway.proxy import AsgiUpstream, HttpUpstream, Upstream
from shared.migrations import upgrade
from tests.conftest import embedded_platform
from tests.infra import free_port
from tests.servers import serving

MAX_BODY = 1024 * 1024


async def echo(request: Request) -> Response:
    """Answers with what it received, so a test can see what the gateway forwarded."""
    if "slow" in request.query_params:
        await asyncio.sleep(float(request.query_params["slow"]))
    if "stream" in request.query_params:

        async def chunks() -> AsyncIterator[bytes]:
            for n in range(int(request.query_params["stream"])):
                yield f"chunk {n}\n".encode()

        return StreamingResponse(chunks(), media_type="text/plain")
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "raw_path": request.scope["raw_path"].decode(),
            "query": request.scope["query_string"].decode(),
            "headers": [[k.decode(), v.decode()] for k, v in request.scope["headers"]],
            "length": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
        },
        headers={"x-upstream": "echo", "connection": "keep-alive"},
    )


ECHO = Starlette(
    routes=[Route("/{path:path}", echo, methods=["GET", "POST", "PUT", "DELETE", "PATCH"])]
)


@contextlib.asynccontextmanager
async def echo_gateway(mode: str, data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway whose 'intake' upstream is the echo app, reached in-process or over HTTP."""
    # One cap for every kind of route: these tests are about the transports.
    settings = GatewaySettings(
        platform=embedded_platform(data_dir),
        max_body_bytes=MAX_BODY,
        max_json_body_bytes=MAX_BODY,
        max_bulk_body_bytes=MAX_BODY,
    )
    await anyio.to_thread.run_sync(upgrade, spec.migrations, settings.db_url)
    async with serving(ECHO, lifespan="off") as echo_url:
        upstream: Upstream
        if mode == "http":
            upstream = HttpUpstream("intake", echo_url, read_timeout=0.5, max_body_bytes=MAX_BODY)
        else:
            upstream = AsgiUpstream("intake", ECHO, max_body_bytes=MAX_BODY)
        app: GatewayApp = create_app(settings, upstreams={"intake": upstream})
        async with app.lifespan():
            transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 5000))
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                yield client


@pytest.fixture(params=["in-process", "http"])
async def gateway(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    async with echo_gateway(request.param, tmp_path) as client:
        yield client


@pytest.fixture
async def http_gateway(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with echo_gateway("http", tmp_path) as client:
        yield client


def header(echoed: dict[str, object], name: str) -> list[str]:
    return [v for k, v in echoed["headers"] if k == name]  # type: ignore[attr-defined]


class TestForwarding:
    async def test_the_path_and_query_arrive_exactly_as_sent(
        self, gateway: httpx.AsyncClient
    ) -> None:
        response = await gateway.get("/api/v1/dossiers/a%2Fb/c?q=%C4%91%C4%83ng+k%C3%BD&x=1")
        assert response.status_code == 200
        echoed = response.json()
        assert echoed["raw_path"] == "/api/v1/dossiers/a%2Fb/c"
        assert echoed["query"] == "q=%C4%91%C4%83ng+k%C3%BD&x=1"

    async def test_credentials_and_the_request_id_are_passed_on(
        self, gateway: httpx.AsyncClient
    ) -> None:
        response = await gateway.get(
            "/api/v1/queues/x",
            headers={"authorization": "Bearer abc", "x-request-id": "req-42"},
        )
        echoed = response.json()
        assert header(echoed, "authorization") == ["Bearer abc"]
        assert header(echoed, "x-request-id") == ["req-42"]
        assert response.headers.get_list("x-request-id") == ["req-42"]  # once, not twice
        assert response.headers["x-upstream"] == "echo"

    async def test_a_request_id_is_made_when_the_caller_sends_none(
        self, gateway: httpx.AsyncClient
    ) -> None:
        response = await gateway.get("/api/v1/dossiers")
        made = response.headers["x-request-id"]
        assert len(made) == 32
        assert header(response.json(), "x-request-id") == [made]

    async def test_a_small_body_arrives_whole(self, gateway: httpx.AsyncClient) -> None:
        body = b'{"procedure_code": "1.001"}'
        echoed = (await gateway.post("/api/v1/dossiers", content=body)).json()
        assert (echoed["length"], echoed["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())

    async def test_a_large_body_streams_through_unchanged(self, gateway: httpx.AsyncClient) -> None:
        body = bytes(range(256)) * 3000  # 768 KB: above the buffered size, below the cap

        async def chunked() -> AsyncIterator[bytes]:
            for start in range(0, len(body), 65536):
                yield body[start : start + 65536]

        for content in (body, chunked()):
            echoed = (await gateway.post("/api/v1/dossiers", content=content)).json()
            assert (echoed["length"], echoed["sha256"]) == (
                len(body),
                hashlib.sha256(body).hexdigest(),
            )

    async def test_a_streamed_response_arrives_whole(self, gateway: httpx.AsyncClient) -> None:
        response = await gateway.get("/api/v1/dossiers?stream=500")
        assert response.text.count("chunk") == 500


class TestBodyCap:
    """Both transports refuse a body over the cap, declared or streamed."""

    async def test_a_body_over_the_cap_is_refused_with_413(
        self, gateway: httpx.AsyncClient
    ) -> None:
        response = await gateway.post("/api/v1/dossiers", content=b"x" * (MAX_BODY + 1))
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"

    async def test_a_streamed_body_over_the_cap_is_refused_with_413(
        self, gateway: httpx.AsyncClient
    ) -> None:
        async def endless() -> AsyncIterator[bytes]:
            for _ in range(40):
                yield b"x" * 65536

        response = await gateway.post("/api/v1/dossiers", content=endless())
        assert response.status_code == 413


async def test_each_kind_of_route_has_its_own_body_cap(tmp_path: Path) -> None:
    """Files up to the upload cap, an admin's catalogue up to the bulk one, every other
    body (JSON, forms; the unauthenticated payment callback too) held low."""
    json_cap, bulk_cap = 64 * 1024, 256 * 1024
    settings = GatewaySettings(
        platform=embedded_platform(tmp_path),
        max_body_bytes=MAX_BODY,
        max_bulk_body_bytes=bulk_cap,
        max_json_body_bytes=json_cap,
    )
    await anyio.to_thread.run_sync(upgrade, spec.migrations, settings.db_url)
    upstreams: dict[str, Upstream] = {
        name: AsgiUpstream(name, ECHO, max_body_bytes=MAX_BODY)
        for name in ("intake", "documents", "procedures")
    }
    app = create_app(settings, upstreams=upstreams)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as gw,
    ):
        cases = [
            ("/api/v1/dossiers", json_cap),
            ("/api/v1/payments/callback", json_cap),
            ("/api/v1/documents/uploads", json_cap),  # a presign request, not a file
            ("/api/v1/catalogue/import", bulk_cap),
            ("/api/v1/documents", MAX_BODY),
            ("/api/v1/documents/results", MAX_BODY),
        ]
        for path, cap in cases:
            fits = await gw.post(path, content=b"x" * cap)
            assert fits.status_code == 200, path
            over = await gw.post(path, content=b"x" * (cap + 1))
            assert over.status_code == 413, path

            async def streamed(size: int = cap + 1) -> AsyncIterator[bytes]:
                for start in range(0, size, 16384):
                    yield b"x" * min(16384, size - start)

            assert (await gw.post(path, content=streamed())).status_code == 413, path


class TestOverHttp:
    """What only a real connection has: hop-by-hop headers, a body on the wire, a slow service."""

    async def test_connection_headers_are_not_forwarded_and_the_client_address_is(
        self, http_gateway: httpx.AsyncClient
    ) -> None:
        response = await http_gateway.get(
            "/api/v1/dossiers",
            headers={"connection": "keep-alive, X-Hop", "te": "trailers", "x-hop": "secret"},
        )
        echoed = response.json()
        assert header(echoed, "te") == []
        assert header(echoed, "x-hop") == []  # named by Connection: this hop only
        assert header(echoed, "x-forwarded-for") == ["203.0.113.9"]
        assert "connection" not in response.headers  # the echo's own connection header

    async def test_a_slow_service_gives_504(self, http_gateway: httpx.AsyncClient) -> None:
        response = await http_gateway.get("/api/v1/dossiers?slow=2")
        assert response.status_code == 504
        assert response.json()["service"] == "intake"


async def test_a_service_that_is_down_gives_503(tmp_path: Path) -> None:
    settings = GatewaySettings(platform=embedded_platform(tmp_path))
    await anyio.to_thread.run_sync(upgrade, spec.migrations, settings.db_url)
    down = HttpUpstream("intake", f"http://127.0.0.1:{free_port()}")
    app = create_app(settings, upstreams={"intake": down})
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client,
    ):
        response = await client.get("/api/v1/dossiers")
        assert response.status_code == 503
        assert response.json()["title"] == "Dịch vụ tạm thời không khả dụng"
        assert response.json()["type"] == "/problems/service-unavailable"
        assert response.headers["retry-after"] == "5"  # a client knows when to try again
        health = await client.get("/api/v1/health")
        assert health.status_code == 503
        assert health.json()["services"]["intake"]["status"] == "error"
