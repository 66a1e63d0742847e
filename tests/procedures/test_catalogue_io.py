"""The catalogue out and back in: a faithful round trip, all or nothing, history kept."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest

from services.procedures.config import ProceduresSettings
from services.procedures.main import create_app, spec
from shared.auth import Principal, Role, TokenService
from shared.migrations import upgrade
from shared.settings import Mode
from tests.conftest import PgDatabase, embedded_platform
from tests.procedures.test_admin import EFFECTIVE, as_, create, new_procedure


@pytest.fixture
async def empty_api(
    procedures_settings: ProceduresSettings, pg_database: PgDatabase, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """A second procedures service of the same kind, with nothing in its catalogue."""
    if procedures_settings.platform.mode is Mode.DISTRIBUTED:
        settings = ProceduresSettings(
            platform=procedures_settings.platform, database_url=await pg_database("procedures")
        )
    else:
        settings = ProceduresSettings(platform=embedded_platform(tmp_path / "empty"))
        await anyio.to_thread.run_sync(upgrade, spec.migrations, settings.db_url)
    app = create_app(settings)
    token = TokenService.from_settings(settings.platform).issue(
        Principal(subject="admin-2", username="admin", role=Role.ADMIN)
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://other"
        ) as client,
    ):
        client.headers["authorization"] = f"Bearer {token}"
        yield client


async def export(api: httpx.AsyncClient, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = await api.get("/api/v1/catalogue/export", headers=headers)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


async def with_history(api: httpx.AsyncClient) -> dict[str, Any]:
    """The seeded catalogue plus a second version of one procedure and a new draft."""
    admin = as_(api, "admin")
    current = (await api.get("/api/v1/procedures/TTHC-23")).json()
    metadata = {"version", "status", "effective_date", "published_at"}
    content = {k: v for k, v in current.items() if k not in metadata} | {"name": "Tạm trú (v2)"}
    await api.put("/api/v1/procedures/TTHC-23/draft", json=content, headers=admin)
    await api.post("/api/v1/procedures/TTHC-23/versions/2/publish", json=EFFECTIVE, headers=admin)
    await create(api, new_procedure())
    return await export(api, admin)


async def test_a_catalogue_round_trips_whole(
    api: httpx.AsyncClient, empty_api: httpx.AsyncClient
) -> None:
    document = await with_history(api)
    imported = await empty_api.post("/api/v1/catalogue/import", json=document)
    assert imported.json() == {
        "agencies": 11,
        "fields": 16,
        "procedures": 34,
        "versions": 35,
        "offers": 14 + 5 * 19,
    }
    assert await export(empty_api) == document
    found = (await empty_api.get("/api/v1/procedures", params={"q": "tam tru v2"})).json()
    assert found["items"][0]["version"] == 2
    old = (await empty_api.get("/api/v1/procedures/TTHC-23/versions/1")).json()
    assert old["status"] == "retired"


async def test_importing_the_same_document_again_adds_nothing(
    api: httpx.AsyncClient, empty_api: httpx.AsyncClient
) -> None:
    document = await with_history(api)
    await empty_api.post("/api/v1/catalogue/import", json=document)
    again = await empty_api.post("/api/v1/catalogue/import", json=document)
    assert set(again.json().values()) == {0}


async def test_a_version_that_says_something_else_is_a_409_and_nothing_changes(
    api: httpx.AsyncClient,
) -> None:
    before = await export(api, as_(api, "admin"))
    tampered = copy.deepcopy(before)
    tampered["procedures"][0]["versions"][0]["content"]["name"] = "Lịch sử viết lại"
    tampered["fields"].append({"code": "moi", "name": "Lĩnh vực mới"})
    response = await api.post("/api/v1/catalogue/import", json=tampered, headers=as_(api, "admin"))
    assert response.status_code == 409
    assert await export(api, as_(api, "admin")) == before  # not even the new field


async def test_an_inconsistent_document_is_a_422_with_pointers(
    empty_api: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    document = await export(api, as_(api, "admin"))
    document["procedures"][1]["versions"][0]["content"]["field_code"] = "khong-co"
    document["procedures"][2]["current_version"] = None  # yet version 1 says published
    response = await empty_api.post("/api/v1/catalogue/import", json=document)
    assert response.status_code == 422
    pointers = {error["pointer"] for error in response.json()["errors"]}
    assert pointers == {
        "#/procedures/1/versions/0/content/field_code",
        "#/procedures/2/current_version",
    }
    assert (await export(empty_api))["procedures"] == []


async def test_only_admins_export_or_import(api: httpx.AsyncClient) -> None:
    citizen = as_(api, "citizen")
    assert (await api.get("/api/v1/catalogue/export", headers=citizen)).status_code == 403
    document = await export(api, as_(api, "admin"))
    response = await api.post("/api/v1/catalogue/import", json=document, headers=citizen)
    assert response.status_code == 403


async def test_a_code_repeated_inside_the_document_is_a_422_not_a_crash(
    empty_api: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    document = await export(api, as_(api, "admin"))
    document["fields"].append(dict(document["fields"][0]))
    document["agencies"].append(dict(document["agencies"][0]))
    response = await empty_api.post("/api/v1/catalogue/import", json=document)
    assert response.status_code == 422, response.text
    pointers = {error["pointer"] for error in response.json()["errors"]}
    assert pointers == {
        f"#/fields/{len(document['fields']) - 1}/code",
        f"#/agencies/{len(document['agencies']) - 1}/code",
    }
    assert (await export(empty_api))["agencies"] == []


@pytest.mark.parametrize(
    "change",
    [{"code": ""}, {"name": ""}, {"code": "x" * 31}, {"calendar_code": ""}, {"code": "a b"}],
)
async def test_an_agency_the_table_cannot_hold_is_a_422(
    empty_api: httpx.AsyncClient, api: httpx.AsyncClient, change: dict[str, str]
) -> None:
    document = await export(api, as_(api, "admin"))
    document["agencies"][0].update(change)
    response = await empty_api.post("/api/v1/catalogue/import", json=document)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert (await export(empty_api))["agencies"] == []
