"""The storage contract, run against a real S3 server (SeaweedFS) and the local folder."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from shared.storage import (
    SINGLE_PUT_MAX,
    InvalidKey,
    LocalStorage,
    ObjectNotFound,
    ObjectStorage,
    S3Storage,
    StorageUnavailable,
    local_download_app,
)
from tests.infra import S3Server, free_port

PUBLIC_URL = "http://files.test/api/v1/storage"


@pytest.fixture(params=["s3", "local"])
async def storage(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[ObjectStorage, httpx.AsyncClient]]:
    """A storage backend and a plain HTTP client that can follow its download URLs."""
    if request.param == "s3":
        server: S3Server = request.getfixturevalue("s3_server")
        backend: ObjectStorage = S3Storage(
            endpoint=server.endpoint,
            access_key=server.access_key,
            secret_key=server.secret_key,
            bucket=f"b-{uuid.uuid4().hex[:12]}",
        )
        client = httpx.AsyncClient()
    else:
        local = LocalStorage(tmp_path, signing_key=b"k" * 32, public_url=PUBLIC_URL)
        backend = local
        # What the documents service mounts at /api/v1/storage, reached over ASGI.
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=local_download_app(local)),
            base_url="http://files.test",
        )
    await backend.ensure_bucket()
    try:
        yield backend, client
    finally:
        await client.aclose()


def _served_path(url: str) -> str:
    """The local backend's URLs point at the gateway; the test app is mounted at the root."""
    return url.replace(PUBLIC_URL, "http://files.test")


class TestStorageContract:
    async def test_put_get_stat_and_delete(
        self, storage: tuple[ObjectStorage, httpx.AsyncClient]
    ) -> None:
        backend, _ = storage
        body = b"%PDF-1.7 test body " * 100
        info = await backend.put(
            "dossiers/a1/doc.pdf", body, length=len(body), content_type="application/pdf"
        )
        assert info.size == len(body)
        assert await backend.get("dossiers/a1/doc.pdf") == body
        stat = await backend.stat("dossiers/a1/doc.pdf")
        assert (stat.size, stat.content_type) == (len(body), "application/pdf")
        await backend.delete("dossiers/a1/doc.pdf")
        with pytest.raises(ObjectNotFound):
            await backend.stat("dossiers/a1/doc.pdf")

    @pytest.mark.parametrize(
        "size", [1, SINGLE_PUT_MAX, SINGLE_PUT_MAX + 1], ids=["tiny", "one PUT", "the SDK's"]
    )
    async def test_both_upload_paths_store_the_bytes_from_a_file(
        self, storage: tuple[ObjectStorage, httpx.AsyncClient], size: int
    ) -> None:
        """Up to SINGLE_PUT_MAX one signed PUT from the event loop, above it the SDK;
        from a file read where it stands, as the documents' spool is passed."""
        backend, _ = storage
        body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
        spool = io.BytesIO(b"ignored" + body)
        spool.seek(len(b"ignored"))
        info = await backend.put("k/sized.bin", spool, length=size, content_type="image/png")
        assert info.size == size
        assert await backend.get("k/sized.bin") == body
        stat = await backend.stat("k/sized.bin")
        assert (stat.size, stat.content_type) == (size, "image/png")
        if isinstance(backend, S3Storage):  # the PUT's answer names the stored object
            assert info.etag
            assert stat.etag == info.etag

    async def test_a_missing_key_is_not_found(
        self, storage: tuple[ObjectStorage, httpx.AsyncClient]
    ) -> None:
        backend, _ = storage
        with pytest.raises(ObjectNotFound):
            await backend.get("no/such/key")
        with pytest.raises(ObjectNotFound):
            await backend.stat("no/such/key")

    async def test_a_presigned_url_downloads_with_a_plain_http_client(
        self, storage: tuple[ObjectStorage, httpx.AsyncClient]
    ) -> None:
        backend, client = storage
        await backend.put("k/photo.png", b"\x89PNG data", length=9, content_type="image/png")
        url = await backend.presigned_get_url("k/photo.png", expires=timedelta(minutes=5))
        response = await client.get(_served_path(url))
        assert response.status_code == 200
        assert response.content == b"\x89PNG data"

    async def test_a_download_is_an_attachment_named_as_uploaded(
        self, storage: tuple[ObjectStorage, httpx.AsyncClient]
    ) -> None:
        backend, client = storage
        await backend.put("k/html.pdf", b"<html>x", length=7, content_type="application/pdf")
        name = 'Giấy khai sinh "bản sao".pdf'
        url = await backend.presigned_get_url("k/html.pdf", expires=timedelta(minutes=5),
                                              filename=name)  # fmt: skip
        response = await client.get(_served_path(url))
        assert response.status_code == 200
        disposition = response.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="Giay khai sinh _ban sao_.pdf"')
        assert "filename*=UTF-8''Gi%E1%BA%A5y%20khai%20sinh%20%22b%E1%BA%A3n%20sao%22.pdf" in (
            disposition
        )
        unnamed = await backend.presigned_get_url("k/html.pdf", expires=timedelta(minutes=5))
        assert (await client.get(_served_path(unnamed))).headers["content-disposition"] == (
            "attachment"
        )
        # The name is signed with the URL: another one is refused.
        forged = _served_path(url).replace("filename", "x").replace("name=Gi", "name=Xi")
        assert forged != _served_path(url)
        assert (await client.get(forged)).status_code == 403

    async def test_an_inline_url_shows_the_file_as_the_type_it_was_read_as(
        self, storage: tuple[ObjectStorage, httpx.AsyncClient]
    ) -> None:
        backend, client = storage
        body = b"%PDF-1.4 shown"
        await backend.put("k/shown", body, length=len(body), content_type="application/pdf")
        url = await backend.presigned_get_url(
            "k/shown", expires=timedelta(minutes=5), filename="đơn.pdf", inline="application/pdf"
        )
        response = await client.get(_served_path(url))
        assert (response.status_code, response.content) == (200, body)
        assert response.headers["content-disposition"].startswith('inline; filename="don.pdf"')
        assert response.headers["content-type"] == "application/pdf"
        # The way of showing it is signed with the URL: it cannot be turned into another.
        forged = _served_path(url).replace("application%2Fpdf", "text%2Fhtml")
        assert forged != _served_path(url)
        assert (await client.get(forged)).status_code == 403

    async def test_a_presigned_url_stops_working_when_it_expires(
        self, storage: tuple[ObjectStorage, httpx.AsyncClient]
    ) -> None:
        backend, client = storage
        await backend.put("k/old.pdf", b"%PDF", length=4, content_type="application/pdf")
        url = await backend.presigned_get_url("k/old.pdf", expires=timedelta(seconds=1))
        await asyncio.sleep(2.1)
        response = await client.get(_served_path(url))
        assert response.status_code == 403

    async def test_a_tampered_url_is_refused(
        self, storage: tuple[ObjectStorage, httpx.AsyncClient]
    ) -> None:
        backend, client = storage
        await backend.put("k/a.pdf", b"%PDF-a", length=6, content_type="application/pdf")
        await backend.put("k/b.pdf", b"%PDF-b", length=6, content_type="application/pdf")
        url = await backend.presigned_get_url("k/a.pdf", expires=timedelta(minutes=5))
        response = await client.get(_served_path(url).replace("k/a.pdf", "k/b.pdf"))
        assert response.status_code == 403

    @pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a/../../b", "a//b", "", "ä"])
    async def test_keys_that_could_escape_are_refused(
        self, storage: tuple[ObjectStorage, httpx.AsyncClient], key: str
    ) -> None:
        backend, _ = storage
        with pytest.raises(InvalidKey):
            await backend.put(key, b"x", length=1, content_type="text/plain")


class TestS3Authentication:
    async def test_wrong_credentials_are_refused(self, s3_server: S3Server) -> None:
        backend = S3Storage(
            endpoint=s3_server.endpoint,
            access_key=s3_server.access_key,
            secret_key="not-the-secret",
            bucket="any-bucket",
        )
        with pytest.raises(StorageUnavailable):
            await backend.ping()

    async def test_a_put_signed_with_the_wrong_secret_is_refused(self, s3_server: S3Server) -> None:
        bucket = f"b-{uuid.uuid4().hex[:12]}"
        right = S3Storage(
            endpoint=s3_server.endpoint,
            access_key=s3_server.access_key,
            secret_key=s3_server.secret_key,
            bucket=bucket,
        )
        await right.ensure_bucket()
        wrong = S3Storage(
            endpoint=s3_server.endpoint,
            access_key=s3_server.access_key,
            secret_key="not-the-secret",
            bucket=bucket,
        )
        with pytest.raises(StorageUnavailable, match="403"):
            await wrong.put("k/forged", b"x" * 10, length=10, content_type="text/plain")
        with pytest.raises(ObjectNotFound):
            await right.stat("k/forged")
        await wrong.close()
        await right.close()


class TestUnavailableStore:
    async def test_an_unreachable_s3_server_is_reported_as_unavailable(self) -> None:
        backend = S3Storage(
            endpoint=f"127.0.0.1:{free_port()}", access_key="a", secret_key="b", bucket="none"
        )
        with pytest.raises(StorageUnavailable):
            await backend.ping()

    async def test_a_local_write_that_falls_short_leaves_nothing_behind(
        self, tmp_path: Path
    ) -> None:
        backend = LocalStorage(tmp_path, signing_key=b"k" * 32, public_url=PUBLIC_URL)
        await backend.ensure_bucket()
        with pytest.raises(ValueError, match="expected 10 bytes"):
            await backend.put("k/short", b"12345", length=10, content_type="text/plain")
        with pytest.raises(ObjectNotFound):
            await backend.stat("k/short")
        assert not any(p.is_file() for p in (tmp_path / "objects").rglob("*"))
