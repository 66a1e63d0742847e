"""Large files straight to the S3 server with a presigned POST, then confirmed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.documents.config import DocumentsSettings
from tests.conftest import PgDatabase
from tests.documents.conftest import EXE, PDF, Client, announced, make_settings, serve
from tests.infra import S3Server


async def start(client: Client, name: str = "ho-so-lon.pdf") -> httpx.Response:
    return await client.http.post(
        "/api/v1/documents/uploads",
        json={"name": name, "kind": "ban-ve"},
        headers=client.auth("citizen"),
    )


async def post_to_store(grant: dict[str, Any], content: bytes) -> httpx.Response:
    async with httpx.AsyncClient() as browser:
        return await browser.post(
            grant["url"], data=grant["fields"], files={"file": ("x.pdf", content)}
        )


@pytest.fixture
async def s3_client(
    tmp_path: Path, pg_database: PgDatabase, s3_server: S3Server
) -> AsyncIterator[Client]:
    settings = await make_settings("s3", tmp_path, pg_database, s3_server,
                                   max_upload_bytes=64 * 1024)  # fmt: skip
    async with serve(settings) as client:
        yield client


async def test_posted_then_confirmed_it_becomes_usable(s3_client: Client) -> None:
    grant = (await start(s3_client)).json()
    listed = (await s3_client.get("/api/v1/documents")).json()
    assert listed == []  # not usable before it is confirmed
    stored = await post_to_store(grant, PDF)
    assert stored.status_code in (200, 204), stored.text
    confirmed = await s3_client.http.post(
        f"/api/v1/documents/{grant['id']}/confirm", headers=s3_client.auth("citizen")
    )
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert (body["status"], body["size"], body["content_type"]) == (
        "ready",
        len(PDF),
        "application/pdf",
    )
    again = await s3_client.http.post(
        f"/api/v1/documents/{grant['id']}/confirm", headers=s3_client.auth("citizen")
    )
    assert again.status_code == 409
    # Usable, and so announced, only once confirmed, and once.
    assert [(ready["id"], ready["uses"]) for ready in await announced(s3_client.settings)] == [
        (grant["id"], 0)
    ]


async def test_what_arrives_is_checked_like_any_upload(s3_client: Client) -> None:
    grant = (await start(s3_client)).json()
    await post_to_store(grant, EXE)
    confirmed = await s3_client.http.post(
        f"/api/v1/documents/{grant['id']}/confirm", headers=s3_client.auth("citizen")
    )
    assert confirmed.status_code == 415
    link = await s3_client.get(f"/api/v1/documents/{grant['id']}/download")
    assert link.status_code == 404  # rejected: never usable


async def test_the_store_refuses_a_file_over_the_cap(s3_client: Client) -> None:
    grant = (await start(s3_client)).json()
    refused = await post_to_store(grant, PDF * 100)  # ~260 KB against a 64 KB cap
    assert refused.status_code >= 400
    confirmed = await s3_client.http.post(
        f"/api/v1/documents/{grant['id']}/confirm", headers=s3_client.auth("citizen")
    )
    assert confirmed.status_code == 422  # nothing arrived


async def test_confirming_someone_elses_upload_is_404(s3_client: Client) -> None:
    grant = (await start(s3_client)).json()
    response = await s3_client.http.post(
        f"/api/v1/documents/{grant['id']}/confirm", headers=s3_client.auth("other_citizen")
    )
    assert response.status_code == 404


async def test_the_local_folder_has_no_direct_upload(
    tmp_path: Path, pg_database: PgDatabase, s3_server: S3Server
) -> None:
    settings: DocumentsSettings = await make_settings("local", tmp_path, pg_database, s3_server)
    async with serve(settings) as client:
        assert (await start(client)).status_code == 409
