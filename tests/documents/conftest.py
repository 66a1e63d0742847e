"""The documents service on PostgreSQL with the S3 server, and on SQLite with a folder."""

from __future__ import annotations

import contextlib
import io
import json
import uuid
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from services.documents.config import DocumentsSettings
from services.documents.main import create_app, spec
from services.documents.models import OutboxRecord
from shared.auth import AgencyMembership, Position, Principal, Role, TokenService
from shared.contracts.documents import DocumentEvent
from shared.db import Database
from shared.migrations import upgrade
from tests.conftest import PgDatabase, distributed_platform, embedded_platform
from tests.infra import S3Server

CENTRE, OTHER = "000.00.15.H49", "000.00.07.H49"
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< >>\n%%EOF\n" * 40
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 2000
PEOPLE = {
    "citizen": Principal(subject="c-1", username="001099000001", role=Role.CITIZEN),
    "other_citizen": Principal(subject="c-2", username="001099000002", role=Role.CITIZEN),
    "officer": Principal(
        subject="o-1",
        username="canbo1",
        role=Role.OFFICER,
        agencies=(AgencyMembership(agency_code=CENTRE, position=Position.DESK),),
    ),
    "other_officer": Principal(
        subject="o-2",
        username="canbo9",
        role=Role.OFFICER,
        agencies=(AgencyMembership(agency_code=OTHER, position=Position.DESK),),
    ),
    "admin": Principal(subject="a-1", username="admin", role=Role.ADMIN),
}


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


DOCX = _docx()


@pytest.fixture(params=["s3", "local"])
async def documents_settings(
    request: pytest.FixtureRequest, tmp_path: Path, pg_database: PgDatabase, s3_server: S3Server
) -> DocumentsSettings:
    return await make_settings(request.param, tmp_path, pg_database, s3_server)


async def make_settings(
    backend: str, tmp_path: Path, pg_database: PgDatabase, s3: S3Server, **overrides: Any
) -> DocumentsSettings:
    if backend == "s3":
        return DocumentsSettings(
            platform=distributed_platform(),
            database_url=await pg_database("documents"),
            s3_endpoint=s3.endpoint,
            s3_access_key=SecretStr(s3.access_key),
            s3_secret_key=SecretStr(s3.secret_key),
            s3_bucket=f"docs-{uuid.uuid4().hex[:12]}",
            **overrides,
        )
    settings = DocumentsSettings(
        platform=embedded_platform(tmp_path), public_url="http://documents", **overrides
    )
    await anyio.to_thread.run_sync(upgrade, spec.migrations, settings.db_url)
    return settings


class Client:
    """The service app with a client per person (each with their own token)."""

    def __init__(
        self, http: httpx.AsyncClient, tokens: TokenService, settings: DocumentsSettings
    ) -> None:
        self.http = http
        self.tokens = tokens
        self.settings = settings

    def auth(self, who: str | None) -> dict[str, str]:
        if who is None:
            return {}
        return {"authorization": f"Bearer {self.tokens.issue(PEOPLE[who])}"}

    async def upload(
        self,
        content: bytes,
        name: str = "giay-to.pdf",
        who: str | None = "citizen",
        declared: str = "application/pdf",
        **data: str,
    ) -> httpx.Response:
        return await self.http.post(
            "/api/v1/documents",
            files={"file": (name, content, declared)},
            data=data,
            headers=self.auth(who),
        )

    async def upload_raw(self, filename: bytes, content: bytes) -> httpx.Response:
        """A multipart body written by hand: the file name exactly as given, unescaped."""
        boundary = b"onestop-test-boundary"
        body = (
            b"--" + boundary + b"\r\n"
            b'Content-Disposition: form-data; name="file"; filename="' + filename + b'"\r\n'
            b"Content-Type: application/pdf\r\n\r\n" + content + b"\r\n"
            b"--" + boundary + b"--\r\n"
        )
        headers = {
            **self.auth("citizen"),
            "content-type": "multipart/form-data; boundary=" + boundary.decode(),
        }
        return await self.http.post("/api/v1/documents", content=body, headers=headers)

    async def get(self, path: str, who: str | None = "citizen", **params: Any) -> httpx.Response:
        return await self.http.get(path, params=params, headers=self.auth(who))


@pytest.fixture
async def client(documents_settings: DocumentsSettings) -> AsyncIterator[Client]:
    async with serve(documents_settings) as client:
        yield client


@contextlib.asynccontextmanager
async def serve(settings: DocumentsSettings) -> AsyncIterator[Client]:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://documents") as http,
    ):
        yield Client(http, TokenService.from_settings(settings.platform), settings)


async def announced(settings: DocumentsSettings) -> list[dict[str, Any]]:
    """The ``document.ready`` events documents wrote, oldest first: (subject, payload)."""
    database = Database(settings.db_url)
    try:
        async with database.session() as session:
            rows = await session.scalars(select(OutboxRecord.envelope).order_by(OutboxRecord.id))
            envelopes = [json.loads(row) for row in rows]
    finally:
        await database.dispose()
    return [
        {"subject": envelope["subject"], **envelope["payload"]}
        for envelope in envelopes
        if envelope["type"] == DocumentEvent.READY
    ]
