"""Public reads come from the cache (Redis, or memory when embedded); a publish is seen at once."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update

from services import bootstrap, composition
from services.procedures.config import ProceduresSettings
from services.procedures.main import create_app
from services.procedures.models import ProcedureVersion
from shared.db import Database
from tests.conftest import PgDatabase, distributed_platform
from tests.procedures.test_admin import EFFECTIVE, as_, create, new_procedure


async def rename_behind_the_service(settings: ProceduresSettings, code: str, name: str) -> None:
    database = Database(settings.db_url)
    async with database.session() as session:
        await session.execute(
            update(ProcedureVersion)
            .where(ProcedureVersion.procedure_code == code)
            .values(name=name)
        )
    await database.dispose()


async def first_name(api: httpx.AsyncClient, query: str) -> str:
    page = (await api.get("/api/v1/procedures", params={"q": query})).json()
    name: str = page["items"][0]["name"]
    return name


async def test_reads_are_cached_until_the_catalogue_changes(
    api: httpx.AsyncClient, procedures_settings: ProceduresSettings
) -> None:
    assert await first_name(api, "tam tru") == "Đăng ký tạm trú"
    await rename_behind_the_service(procedures_settings, "TTHC-23", "Tên đổi ngầm")
    # Still the cached page: the database changed without the service knowing.
    assert await first_name(api, "tam tru") == "Đăng ký tạm trú"

    await create(api, new_procedure())  # a draft changes nothing the public sees...
    assert await first_name(api, "tam tru") == "Đăng ký tạm trú"
    published = await api.post(
        "/api/v1/procedures/QN-TEST-01/versions/1/publish",
        json=EFFECTIVE,
        headers=as_(api, "admin"),
    )
    assert published.status_code == 200
    # ...a publication invalidates every cached read at once.
    assert await first_name(api, "tam tru") == "Tên đổi ngầm"
    assert await first_name(api, "le hoi") == "Cấp giấy phép tổ chức lễ hội"


async def test_a_new_version_replaces_the_cached_detail_at_once(api: httpx.AsyncClient) -> None:
    admin = as_(api, "admin")
    before = (await api.get("/api/v1/procedures/TTHC-23")).json()
    metadata = {"version", "status", "effective_date", "published_at"}
    content = {k: v for k, v in before.items() if k not in metadata}
    content["processing_time"] = {"unit": "working_days", "value": 5}
    await api.put("/api/v1/procedures/TTHC-23/draft", json=content, headers=admin)
    assert (await api.get("/api/v1/procedures/TTHC-23")).json()["version"] == 1  # cached, right
    await api.post("/api/v1/procedures/TTHC-23/versions/2/publish", json=EFFECTIVE, headers=admin)
    after = (await api.get("/api/v1/procedures/TTHC-23")).json()
    assert (after["version"], after["processing_time"]["value"]) == (2, 5)


async def test_a_failed_publication_invalidates_nothing(
    api: httpx.AsyncClient, procedures_settings: ProceduresSettings
) -> None:
    assert await first_name(api, "tam tru") == "Đăng ký tạm trú"
    await rename_behind_the_service(procedures_settings, "TTHC-23", "Tên đổi ngầm")
    refused = await api.post(
        "/api/v1/procedures/TTHC-23/versions/1/publish", json=EFFECTIVE, headers=as_(api, "admin")
    )
    assert refused.status_code == 409
    assert await first_name(api, "tam tru") == "Đăng ký tạm trú"


async def test_seeding_from_outside_drops_the_shared_cache(
    pg_database: PgDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``onestop seed`` runs in its own process; the serving one must not keep old pages."""
    platform = distributed_platform()
    for name in bootstrap.SEEDS:
        prefix = composition.SPECS[name].settings_type.model_config.get("env_prefix", "")
        monkeypatch.setenv(f"{prefix}DATABASE_URL", await pg_database(name))
    for name in composition.SPECS:  # the gateway's settings need them; seeding calls none
        monkeypatch.setenv(f"GATEWAY_{name.upper()}_URL", "http://127.0.0.1:9")
    await bootstrap.seed(platform)
    settings = ProceduresSettings(platform=platform)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p") as api,
    ):
        assert await first_name(api, "tam tru") == "Đăng ký tạm trú"
        await rename_behind_the_service(settings, "TTHC-23", "Tên đổi ngầm")
        assert await first_name(api, "tam tru") == "Đăng ký tạm trú"  # cached
        await bootstrap.seed(platform)  # adds nothing, yet the cache is dropped
        assert await first_name(api, "tam tru") == "Tên đổi ngầm"
