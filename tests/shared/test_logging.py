"""Request ids: a caller's is kept only when it has a safe shape and holds no personal
data; otherwise one is made, and it replaces the caller's downstream too."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from shared.logging import (
    JsonFormatter,
    RequestContextMiddleware,
    configure_logging,
    current_request_id,
)


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


def log_lines(log_format: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """What a few log calls write to stderr in ``log_format``."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("INFO", log_format=log_format)
    try:
        log = logging.getLogger("onestop.test")
        log.info("dossier %s received", "000.00.15.H49-260213-0001", extra={"service": "intake"})
        log.info("texted 0912345678 about it", extra={"to": "an@example.vn"})
        try:
            raise ValueError("bad id 001099000001")
        except ValueError:
            log.warning("failed", exc_info=True)
    finally:
        root.handlers[:], root.level = handlers, level
    return capsys.readouterr().err.strip().splitlines()


def test_production_logs_are_json_lines_without_personal_data(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = log_lines("json", capsys)
    entries = [json.loads(line) for line in lines]  # one object per line, the traceback in it
    assert len(entries) == 3
    assert all("\x1b" not in line for line in lines)  # no terminal colors inside JSON
    first, second, third = entries
    assert {"ts", "level", "logger", "msg"} <= set(first)
    assert (first["msg"], first["service"], first["level"]) == (
        "dossier 000.00.15.H49-260213-0001 received", "intake", "info",
    )  # fmt: skip
    assert (second["msg"], second["to"]) == ("texted [redacted] about it", "[redacted]")
    assert "ValueError: bad id [redacted]" in third["exc"]
    assert "001099000001" not in "".join(lines)


def test_a_terminal_gets_one_readable_line_per_event(capsys: pytest.CaptureFixture[str]) -> None:
    lines = log_lines("console", capsys)
    assert "dossier 000.00.15.H49-260213-0001 received" in lines[0]
    assert "[info" in lines[0]
    assert "service=intake" in lines[0]
    assert not lines[0].startswith("{")
    assert all("\x1b" not in line for line in lines)  # not a terminal here: no colors
    assert "0912345678" not in "\n".join(lines)


def test_uvicorns_colored_copy_of_its_message_is_left_out(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("INFO", log_format="json")
    try:
        logging.getLogger("uvicorn.error").info(
            "Started server process [%d]", 42,
            extra={"color_message": "Started server process [\x1b[36m%d\x1b[0m]"},
        )  # fmt: skip
    finally:
        root.handlers[:], root.level = handlers, level
    [line] = capsys.readouterr().err.strip().splitlines()
    assert json.loads(line)["msg"] == "Started server process [42]"
    assert "\\u001b" not in line
    assert "\x1b" not in line
