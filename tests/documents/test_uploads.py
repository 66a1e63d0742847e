"""Uploads checked by content while they stream; nothing kept from a failed one."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from services.documents.config import DocumentsSettings
from services.documents.models import Document
from shared.db import Database
from tests.conftest import PgDatabase
from tests.documents.conftest import (
    DOCX,
    EXE,
    PDF,
    PNG,
    Client,
    announced,
    make_settings,
    serve,
)
from tests.infra import S3Server


async def stored(settings: DocumentsSettings) -> int:
    database = Database(settings.db_url)
    try:
        async with database.session() as session:
            return int(await session.scalar(select(func.count()).select_from(Document)) or 0)
    finally:
        await database.dispose()


class TestAccepted:
    async def test_a_pdf_is_stored_with_its_checksum_and_type_from_its_bytes(
        self, client: Client
    ) -> None:
        response = await client.upload(PDF, name="Giấy chứng sinh.png", declared="image/png",
                                       kind="giay-chung-sinh")  # fmt: skip
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["content_type"] == "application/pdf"  # not what the name or header said
        assert body["sha256"] == hashlib.sha256(PDF).hexdigest()
        assert (body["size"], body["name"], body["label"]) == (
            len(PDF),
            "Giấy chứng sinh.png",
            "giay-chung-sinh",
        )

    async def test_a_kind_that_is_no_short_code_is_422_and_nothing_is_kept(
        self, client: Client, documents_settings: DocumentsSettings
    ) -> None:
        for kind in ("k" * 101, "Giấy chứng sinh", "0.0"):  # longer than its column on PostgreSQL
            response = await client.upload(PDF, kind=kind)
            assert response.status_code == 422, response.text
            assert response.json()["errors"][0]["pointer"] == "#/kind"
        assert await announced(documents_settings) == []
        assert (await client.get("/api/v1/documents")).json() == []
        blank = await client.upload(PDF, kind="")  # an empty input of a browser's form
        assert (blank.status_code, blank.json()["label"]) == (201, None)
        twice = await client.http.post(
            "/api/v1/documents",
            files=[("kind", (None, b"ban-ve")), ("kind", (None, b"ban-sao")),
                   ("file", ("a.pdf", PDF, "application/pdf"))],
            headers=client.auth("citizen"),
        )  # fmt: skip
        assert twice.status_code == 422, twice.text  # which one was meant is not guessed
        assert twice.json()["errors"] == [{"pointer": "#/kind", "message": "Chỉ gửi một lần."}]
        assert len((await client.get("/api/v1/documents")).json()) == 1

    async def test_a_stored_document_is_announced_once_with_its_facts(
        self, client: Client, documents_settings: DocumentsSettings
    ) -> None:
        created = (await client.upload(PDF, name="to-khai.png", declared="image/png")).json()
        await client.upload_raw(b"khong-phai.pdf", EXE)  # refused: nothing to announce
        assert await announced(documents_settings) == [
            {
                "subject": created["id"],
                "id": created["id"],
                "owner": "c-1",
                "kind": "upload",
                "content_type": "application/pdf",
                "uses": 0,
            }
        ]

    async def test_the_wallet_lists_it_and_the_link_downloads_it(self, client: Client) -> None:
        created = (await client.upload(PNG, name="anh.png")).json()
        wallet = (await client.get("/api/v1/documents")).json()
        assert [item["id"] for item in wallet] == [created["id"]]
        link = (await client.get(f"/api/v1/documents/{created['id']}/download")).json()
        content = await fetch(client, link["url"])
        assert content == PNG

    async def test_office_documents_only_where_accepted(self, client: Client) -> None:
        refused = await client.upload(DOCX, name="don.docx")
        assert refused.status_code == 415
        accepted = await client.http.post(
            "/api/v1/documents",
            params={"office": "true"},
            files={"file": ("don.docx", DOCX, "application/octet-stream")},
            headers=client.auth("citizen"),
        )
        assert accepted.status_code == 201
        assert accepted.json()["content_type"].endswith("wordprocessingml.document")


def docx_with(members: dict[str, int]) -> bytes:
    """A DOCX (what filetype recognises) with more ``members`` of that many zero bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("word/document.xml", "<w:document/>")
        for name, size in members.items():
            with archive.open(name, "w") as member:
                for start in range(0, size, 1 << 20):
                    member.write(bytes(min(1 << 20, size - start)))
    return buffer.getvalue()


class TestArchives:
    """An office document is a ZIP archive: bounded in what it expands to."""

    async def upload_office(self, client: Client, content: bytes) -> httpx.Response:
        return await client.http.post(
            "/api/v1/documents",
            params={"office": "true"},
            files={"file": ("don.docx", content, "application/octet-stream")},
            headers=client.auth("citizen"),
        )

    async def test_a_zip_bomb_packed_as_docx_is_refused_and_not_stored(
        self, client: Client, documents_settings: DocumentsSettings
    ) -> None:
        bomb = docx_with({"word/media/zeros.bin": 120 * 1024 * 1024})
        assert len(bomb) < 1024 * 1024  # small on the wire
        before = await stored(documents_settings)
        refused = await self.upload_office(client, bomb)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert await stored(documents_settings) == before

    async def test_an_archive_of_too_many_entries_is_refused(self, client: Client) -> None:
        many = docx_with({f"word/part{n}.xml": 1 for n in range(1001)})
        assert (await self.upload_office(client, many)).status_code == 422

    async def test_a_broken_archive_is_refused(self, client: Client) -> None:
        cut = DOCX[: len(DOCX) - 30]  # the central directory is gone
        assert (await self.upload_office(client, cut)).status_code in (415, 422)

    async def test_an_ordinary_office_document_is_accepted(self, client: Client) -> None:
        ordinary = docx_with({"word/media/image1.png": 2 * 1024 * 1024})
        assert (await self.upload_office(client, ordinary)).status_code == 201


async def fetch(client: Client, url: str) -> bytes:
    """A download link: the S3 server's presigned URL, or the service's signed one."""
    if url.startswith("http://documents/"):
        response = await client.http.get(url)
    else:
        async with httpx.AsyncClient() as plain:
            response = await plain.get(url)
    assert response.status_code == 200, response.text
    return response.content


class TestRefused:
    @pytest.mark.parametrize(
        ("content", "name", "status"),
        [
            (EXE, b"to-khai.pdf", 415),  # an executable named .pdf
            (b"", b"rong.pdf", 422),
            (PDF, b"../../etc/passwd.pdf", 422),
            (PDF, b"..\\windows\\x.pdf", 422),
            (PDF, b"bad\x07name.pdf", 422),
            (PDF, b"bad\x1bname.pdf", 422),
            (PDF, b"bad\rname.pdf", 400),  # a CR breaks the part's headers: malformed
            (b"plain text, not a document", b"ghi-chu.pdf", 415),
        ],
    )
    async def test_bad_files_leave_nothing(
        self,
        client: Client,
        documents_settings: DocumentsSettings,
        content: bytes,
        name: bytes,
        status: int,
    ) -> None:
        response = await client.upload_raw(name, content)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert await stored(documents_settings) == 0

    async def test_a_truncated_body_is_400(
        self, client: Client, documents_settings: DocumentsSettings
    ) -> None:
        boundary = "xyz"
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode() + PDF[:100]
        response = await client.http.post(
            "/api/v1/documents",
            content=body,
            headers={
                **client.auth("citizen"),
                "content-type": f"multipart/form-data; boundary={boundary}",
            },
        )
        assert response.status_code == 400
        assert await stored(documents_settings) == 0

    async def test_not_multipart_is_415(self, client: Client) -> None:
        response = await client.http.post(
            "/api/v1/documents", content=PDF, headers={**client.auth("citizen"),
                                                      "content-type": "application/pdf"}
        )  # fmt: skip
        assert response.status_code == 415

    async def test_anonymous_uploads_are_401_and_officers_do_not_fill_wallets(
        self, client: Client
    ) -> None:
        assert (await client.upload(PDF, who=None)).status_code == 401
        assert (await client.upload(PDF, who="officer")).status_code == 403


@pytest.mark.parametrize("backend", ["s3", "local"])
async def test_the_size_cap_stops_the_upload_and_keeps_nothing(
    backend: str, tmp_path: Path, pg_database: PgDatabase, s3_server: S3Server
) -> None:
    settings = await make_settings(
        backend, tmp_path, pg_database, s3_server, max_upload_bytes=64 * 1024
    )
    async with serve(settings) as client:
        big = PDF * (200 * 1024 // len(PDF) + 1)
        response = await client.upload(big, name="lon.pdf")
        assert response.status_code == 413
        assert (await client.upload(PDF)).status_code == 201  # under the cap: fine
    assert await stored(settings) == 1
