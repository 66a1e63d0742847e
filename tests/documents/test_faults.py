"""The object store going away and coming back; a record that cannot be written; the
optional malware scan."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import anyio.to_thread
import httpx
import pytest
from minio import Minio
from sqlalchemy import text

from services.documents.config import DocumentsSettings
from shared.db import Database
from tests.conftest import PgDatabase
from tests.documents.conftest import PDF, Client, announced, make_settings, serve
from tests.documents.test_uploads import stored
from tests.infra import S3Server, free_port, free_ports, seaweedfs

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


async def test_uploads_answer_503_while_the_store_is_down_and_recover_after(
    tmp_path: Path, pg_database: PgDatabase
) -> None:
    folder = tmp_path / "weed"
    folder.mkdir()
    ports = free_ports(8)
    first = contextlib.ExitStack()
    server: S3Server = await anyio.to_thread.run_sync(first.enter_context, seaweedfs(folder, ports))
    settings = await make_settings("s3", tmp_path, pg_database, server)
    async with serve(settings) as client:
        kept = (await client.upload(PDF)).json()
        await anyio.to_thread.run_sync(first.close)  # the store stops

        down = await client.upload(PDF)
        assert down.status_code == 503
        assert down.headers["content-type"] == "application/problem+json"
        assert await stored(settings) == 1  # nothing half-written is visible
        assert (await client.http.get("/readyz")).status_code == 503

        again = contextlib.ExitStack()
        await anyio.to_thread.run_sync(again.enter_context, seaweedfs(folder, ports))
        try:
            back = await client.upload(PDF)  # no restart of the service needed
            assert back.status_code == 201
            link = (await client.get(f"/api/v1/documents/{kept['id']}/download")).json()
            async with httpx.AsyncClient() as plain:
                assert (await plain.get(link["url"])).content == PDF
        finally:
            await anyio.to_thread.run_sync(again.close)


@contextlib.asynccontextmanager
async def fake_clamd() -> AsyncIterator[str]:
    """A stand-in ClamAV daemon speaking clamd's INSTREAM and PING; flags EICAR."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        command = await reader.readuntil(b"\0")
        if command == b"zPING\0":
            writer.write(b"PONG\0")
        else:
            content = bytearray()
            while size := struct.unpack(">I", await reader.readexactly(4))[0]:
                content += await reader.readexactly(size)
            found = EICAR in content
            writer.write(b"stream: Eicar-Signature FOUND\0" if found else b"stream: OK\0")
        await writer.drain()
        writer.close()

    port = free_port()
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        yield f"127.0.0.1:{port}"


@pytest.mark.parametrize("backend", ["local", "s3"])
async def test_with_a_scanner_an_infected_file_is_refused_and_not_kept(
    backend: str, tmp_path: Path, pg_database: PgDatabase, s3_server: S3Server
) -> None:
    async with fake_clamd() as address:
        settings = await make_settings(
            backend, tmp_path, pg_database, s3_server, clamav_address=address
        )
        async with serve(settings) as client:
            infected = await client.upload(PDF + EICAR)
            assert infected.status_code == 422
            assert "Eicar-Signature" in infected.text
            assert (await client.upload(PDF)).status_code == 201
            ready = (await client.http.get("/readyz")).json()
            assert ready["checks"]["malware_scan"] == "ok"
        assert await stored(settings) == 1


async def test_a_scanner_that_does_not_answer_means_try_again_later(
    tmp_path: Path, pg_database: PgDatabase, s3_server: S3Server
) -> None:
    settings = await make_settings(
        "local", tmp_path, pg_database, s3_server, clamav_address=f"127.0.0.1:{free_port()}"
    )
    async with serve(settings) as client:
        assert (await client.upload(PDF)).status_code == 503
        assert (
            (await client.http.get("/readyz")).json()["checks"]["malware_scan"].startswith("error")
        )
    assert await stored(settings) == 0


async def test_without_a_scanner_readyz_says_it_is_off(client: Client) -> None:
    ready = (await client.http.get("/readyz")).json()
    assert ready["checks"]["malware_scan"] == "off"
    assert ready["status"] == "ok"


REFUSE_NEW_DOCUMENTS = {
    "postgresql": [
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'refused'; END $$",
        "CREATE TRIGGER refuse BEFORE INSERT ON documents FOR EACH ROW EXECUTE FUNCTION refuse()",
    ],
    "sqlite": [
        "CREATE TRIGGER refuse BEFORE INSERT ON documents BEGIN SELECT RAISE(ABORT, 'refused'); END"
    ],
}


def objects(settings: DocumentsSettings) -> int:
    """The objects the store holds, straight from the store."""
    if settings.storage_backend == "s3":
        minio = Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key.get_secret_value(),
            secret_key=settings.s3_secret_key.get_secret_value(),
            secure=False,
        )
        return sum(1 for _ in minio.list_objects(settings.s3_bucket, recursive=True))
    assert settings.local_storage_dir is not None
    return sum(1 for path in (settings.local_storage_dir / "objects").rglob("*") if path.is_file())


async def test_a_record_that_cannot_be_written_takes_the_stored_file_away(
    client: Client,
) -> None:
    settings = client.settings
    assert (await client.upload(PDF)).status_code == 201
    database = Database(settings.db_url)
    try:
        async with database.session() as session:
            for statement in REFUSE_NEW_DOCUMENTS[session.get_bind().dialect.name]:
                await session.execute(text(statement))
    finally:
        await database.dispose()
    failed = await client.upload(PDF)
    assert failed.status_code == 500
    assert failed.headers["content-type"] == "application/problem+json"
    # The file was put before the record failed: it is gone again, with no event.
    assert await stored(settings) == 1
    assert len(await announced(settings)) == 1
    assert await anyio.to_thread.run_sync(objects, settings) == 1
