"""A store a request needs is away: 503 with Retry-After (clients retry with their
Idempotency-Key), never a 500 that reads as a bug, and nothing of the error leaks."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis.exceptions
import sqlalchemy.exc
from fastapi import FastAPI

from services.procedures.config import ProceduresSettings
from services.procedures.main import create_app as create_procedures
from shared.app import create_service_app
from tests.conftest import embedded_platform
from tests.infra import free_port

AWAY = [
    ConnectionRefusedError(111, "Connect call failed ('10.0.0.5', 5432)"),
    socket.gaierror(-2, "Name or service not known"),
    sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection")),
    sqlalchemy.exc.InterfaceError("SELECT 1", {}, Exception("connection is closed")),
    sqlalchemy.exc.TimeoutError("QueuePool limit of size 8 overflow 0 reached"),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle"),
    redis.exceptions.ConnectionError("Error 111 connecting to 10.0.0.6:6379"),
    redis.exceptions.TimeoutError("Timeout reading from socket"),
    # What SQLAlchemy raised when PostgreSQL restarted under a statement (tests/chaos):
    # a bare DBAPIError over the driver's error.
    sqlalchemy.exc.DBAPIError(
        "SELECT 1", {}, asyncpg.exceptions.ConnectionDoesNotExistError("closed in the middle")
    ),
    sqlalchemy.exc.DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True),
]


def failing(error: Exception) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield

    app = create_service_app(title="t", lifespan=lifespan, service="unavailable-test")

    @app.get("/api/v1/things")
    async def things() -> None:
        raise error

    return app


async def ask(app: FastAPI) -> httpx.Response:
    """The route that raises, asked as a client would (the app's 500 answered, not raised)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get("/api/v1/things")


@pytest.mark.parametrize("error", AWAY, ids=lambda e: type(e).__name__)
async def test_a_store_away_is_a_503_to_retry(error: Exception) -> None:
    answer = await ask(failing(error))
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["type"] == "/problems/service-unavailable"
    assert problem["detail"] == "Hệ thống đang tạm gián đoạn; xin thử lại sau giây lát."
    assert str(error.args[0] if error.args else error) not in answer.text  # nothing leaks


@pytest.mark.parametrize(
    "error",
    [KeyError("a bug"), sqlalchemy.exc.DBAPIError("SELEC 1", {}, Exception("syntax error"))],
    ids=lambda e: type(e).__name__,
)
async def test_a_bug_is_still_a_500(error: Exception) -> None:
    answer = await ask(failing(error))
    assert answer.status_code == 500


async def test_a_service_whose_database_is_down_answers_503(tmp_path: Path) -> None:
    nowhere = f"postgresql+asyncpg://onestop@127.0.0.1:{free_port()}/onestop_procedures"
    settings = ProceduresSettings(platform=embedded_platform(tmp_path), database_url=nowhere)
    app = create_procedures(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://procedures") as client,
    ):
        answer = await client.get("/api/v1/procedures")
        ready = await client.get("/readyz")
    assert (answer.status_code, answer.headers.get("retry-after")) == (503, "5")
    assert ready.status_code == 503
