"""Intake's calls to the services it reads, over the lean client: answers typed, the
caller's token and the request id passed on, an unreachable or failing service a 503."""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import AbstractAsyncContextManager

import pytest

from services.intake.upstreams import Upstreams
from shared.errors import UpstreamError, UpstreamUnavailable
from shared.logging import set_request_id
from tests.infra import free_port
from tests.shared.test_http1 import RawServer, raw_server

DOCUMENT_ID = uuid.uuid4()
DOCUMENT = {"id": str(DOCUMENT_ID), "status": "ready", "content_type": "application/pdf",
            "kind": "upload", "owner": "citizen-1", "uses": 2}  # fmt: skip


def answer(status: int, body: object) -> bytes:
    raw = json.dumps(body).encode()
    return b"HTTP/1.1 %d X\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%b" % (
        status, len(raw), raw
    )  # fmt: skip


def serving(status: int, body: object) -> AbstractAsyncContextManager[RawServer]:
    async def handler(_head: bytes, writer: asyncio.StreamWriter, _state: RawServer) -> bool:
        writer.write(answer(status, body))
        await writer.drain()
        return True

    return raw_server(handler)


async def test_a_typed_answer_with_the_callers_token_and_the_request_id() -> None:
    async with serving(200, [DOCUMENT]) as server:
        upstreams = Upstreams({"documents": f"http://127.0.0.1:{server.port}"})
        set_request_id("req-42")  # this test's task only: a context variable
        try:
            found = await upstreams.own_documents([DOCUMENT_ID], "Bearer abc")
        finally:
            set_request_id(None)
            await upstreams.close()
    assert found[DOCUMENT_ID].owner == "citizen-1"
    head = server.requests[0].decode().lower()
    assert f"get /api/v1/documents?id={DOCUMENT_ID} http/1.1" in head
    assert "authorization: bearer abc\r\n" in head
    assert "x-request-id: req-42\r\n" in head


async def test_a_service_nobody_answers_is_unavailable() -> None:
    upstreams = Upstreams({"documents": f"http://127.0.0.1:{free_port()}"})
    with pytest.raises(UpstreamUnavailable):
        await upstreams.own_documents([uuid.uuid4()], "Bearer abc")
    await upstreams.close()


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [(500, {"title": "x"}, UpstreamUnavailable), (400, {"title": "x"}, UpstreamError),
     (200, [{"id": "not-a-uuid"}], UpstreamError)],
    ids=["server-error", "refused", "malformed"],
)  # fmt: skip
async def test_a_failing_or_malformed_answer_is_an_error(
    status: int, body: object, error: type[Exception]
) -> None:
    async with serving(status, body) as server:
        upstreams = Upstreams({"documents": f"http://127.0.0.1:{server.port}"})
        with pytest.raises(error):
            await upstreams.own_documents([uuid.uuid4()], "Bearer abc")
        await upstreams.close()


async def test_not_found_is_none() -> None:
    async with serving(404, {"title": "x"}) as server:
        upstreams = Upstreams({"documents": f"http://127.0.0.1:{server.port}"})
        assert await upstreams.document(uuid.uuid4(), "Bearer abc") is None
        await upstreams.close()
