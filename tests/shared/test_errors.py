"""RFC 9457 problem details for every kind of failure, and one unit of work per request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field
from sqlalchemy import Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import Database, SessionDep
from shared.errors import PROBLEM_MEDIA_TYPE, Conflict, install_error_handlers
from shared.logging import RequestContextMiddleware


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(20), unique=True)


class ItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=20)
    count: int = Field(ge=0)


def make_app(database: Database) -> FastAPI:
    app = FastAPI()
    app.state.runtime = SimpleNamespace(db=database)
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware)

    @app.post("/items", status_code=201)
    async def create(session: SessionDep, item: ItemIn) -> dict[str, str]:
        session.add(Item(name=item.name))
        return {"name": item.name}

    @app.get("/conflict")
    async def conflict() -> None:
        raise Conflict("Hồ sơ đã được tiếp nhận.")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals 001099000001")

    return app


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    async with database.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    transport = httpx.ASGITransport(app=make_app(database), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http, database
    await database.dispose()


class TestProblemDetails:
    async def test_an_unknown_route_is_a_404_problem_in_vietnamese(
        self, client: tuple[httpx.AsyncClient, Database]
    ) -> None:
        response = await client[0].get("/nowhere")
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
        assert response.json()["title"] == "Không tìm thấy"

    async def test_a_wrong_method_is_a_405_problem_naming_the_allowed_ones(
        self, client: tuple[httpx.AsyncClient, Database]
    ) -> None:
        response = await client[0].delete("/items")
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"
        assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE

    async def test_a_malformed_body_is_a_422_with_a_pointer_to_each_field(
        self, client: tuple[httpx.AsyncClient, Database]
    ) -> None:
        response = await client[0].post("/items", json={"name": "", "count": -1})
        assert response.status_code == 422
        pointers = {e["pointer"] for e in response.json()["errors"]}
        assert pointers == {"#/name", "#/count"}

    async def test_broken_json_is_a_422_problem(
        self, client: tuple[httpx.AsyncClient, Database]
    ) -> None:
        response = await client[0].post(
            "/items", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE

    async def test_a_domain_error_keeps_its_status_and_detail(
        self, client: tuple[httpx.AsyncClient, Database]
    ) -> None:
        body = (await client[0].get("/conflict")).json()
        assert (body["status"], body["title"], body["detail"]) == (
            409,
            "Xung đột trạng thái",
            "Hồ sơ đã được tiếp nhận.",
        )
        assert body["type"] == "/problems/conflict"

    async def test_an_unexpected_error_is_a_500_that_leaks_nothing(
        self, client: tuple[httpx.AsyncClient, Database]
    ) -> None:
        response = await client[0].get("/boom")
        assert response.status_code == 500
        assert "secret" not in response.text
        assert response.headers["x-request-id"]


class TestUnitOfWork:
    async def test_a_request_commits_its_changes(
        self, client: tuple[httpx.AsyncClient, Database]
    ) -> None:
        http, database = client
        assert (await http.post("/items", json={"name": "a", "count": 1})).status_code == 201
        async with database.session() as session:
            assert await session.get(Item, 1) is not None

    async def test_a_commit_that_fails_is_reported_not_answered_as_success(
        self, client: tuple[httpx.AsyncClient, Database]
    ) -> None:
        http, database = client
        await http.post("/items", json={"name": "dup", "count": 1})
        # The duplicate only fails at commit time, after the endpoint returned.
        response = await http.post("/items", json={"name": "dup", "count": 1})
        assert response.status_code == 500
        assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
        async with database.session() as session:
            assert len((await session.scalars(select(Item))).all()) == 1
