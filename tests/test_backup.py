"""``onestop backup`` and ``onestop restore`` on the real servers: a platform with dossiers
and documents is backed up, restored into new databases and a new bucket, and everything
is there again, byte for byte; a changed backup or a full database is refused."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from services import backup, composition
from services.documents.config import DocumentsSettings
from services.documents.main import create_storage
from services.documents.models import Document
from services.gateway.models import User
from services.intake import audit
from services.intake.models import Dossier
from services.tracking.models import DossierClock
from shared.auth import Position
from shared.db import Database
from shared.settings import ServiceSettings
from tests.conftest import PgDatabase, _admin, _database_url
from tests.infra import S3Server
from tests.intake import flow
from tests.platform import Platform, distributed


async def rows(url: str, model: type[Any], *columns: Any) -> list[tuple[Any, ...]]:
    database = Database(url)
    try:
        async with database.read_session() as session:
            chosen = columns or (model,)
            order = columns[0] if columns else None
            statement = select(*chosen).order_by(order) if order is not None else select(*chosen)
            return [tuple(row) for row in (await session.execute(statement)).all()]
    finally:
        await database.dispose()


@pytest.fixture
async def platform(pg_database: PgDatabase, s3_server: S3Server) -> AsyncIterator[Platform]:
    async with distributed(pg_database, s3_server) as made:
        yield made


@pytest.fixture
async def fresh() -> AsyncIterator[dict[str, str]]:
    """A new, empty database name per service (dropped after the test)."""
    run = uuid.uuid4().hex[:8]
    names = {name: f"onestop_restored_{run}_{name}" for name in composition.SPECS}
    yield {name: _database_url(database) for name, database in names.items()}
    admin = await _admin()
    try:
        for database in names.values():
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await admin.close()


def settings_of(platform: Platform) -> dict[str, ServiceSettings]:
    return {name: app.state.runtime.settings for name, app in platform.apps.items()}


def moved(settings: dict[str, ServiceSettings], urls: dict[str, str], bucket: str) -> dict[
    str, ServiceSettings
]:  # fmt: skip
    """The same install's settings, on other databases and another bucket."""
    moved: dict[str, ServiceSettings] = {}
    for name, service in settings.items():
        changes: dict[str, Any] = {"database_url": urls[name]}
        if isinstance(service, DocumentsSettings):
            changes["s3_bucket"] = bucket
        moved[name] = service.model_copy(update=changes)
    return moved


async def test_a_backup_restores_every_dossier_and_document_into_new_servers(
    platform: Platform, fresh: dict[str, str], tmp_path: Path
) -> None:
    citizen = platform.citizen("citizen-1")
    desk = platform.officer("desk-1", Position.DESK)
    codes = []
    for _ in range(3):
        submitted = await flow.submit(platform, citizen)
        assert submitted.status_code == 201, submitted.text
        codes.append(submitted.json()["code"])
    assert (await flow.act(platform, codes[0], "receive", desk)).status_code == 200
    settings = settings_of(platform)

    summary = await backup.backup(tmp_path / "backup", settings)
    assert set(summary.databases) == set(composition.SPECS)
    assert summary.objects >= 3  # each submission's documents
    with pytest.raises(backup.BackupError, match="new folder"):
        await backup.backup(tmp_path / "backup", settings)

    bucket = f"restored-{uuid.uuid4().hex[:8]}"
    target = moved(settings, fresh, bucket)
    restored = await backup.restore(tmp_path / "backup", target)
    assert restored.objects == summary.objects

    source, copy = settings["intake"].db_url, target["intake"].db_url
    dossiers = (Dossier.code, Dossier.status, Dossier.sequence)
    assert await rows(copy, Dossier, *dossiers) == await rows(source, Dossier, *dossiers)
    assert sorted(code for code, *_ in await rows(copy, Dossier, *dossiers)) == sorted(codes)
    database = Database(copy)
    async with database.session() as session:
        checked, breaks = await audit.verify(session)
    await database.dispose()
    assert checked >= 4
    assert breaks == []
    for name, model, columns in (
        ("tracking", DossierClock, (DossierClock.dossier_code, DossierClock.due_at)),
        ("gateway", User, (User.username, User.password_hash)),
        ("documents", Document, (Document.id, Document.storage_key, Document.sha256)),
    ):
        original = await rows(settings[name].db_url, model, *columns)
        assert original
        assert await rows(target[name].db_url, model, *columns) == original, name
    # Every document's bytes, from the new bucket.
    documents = target["documents"]
    assert isinstance(documents, DocumentsSettings)
    storage, original_storage = (
        create_storage(documents),
        create_storage(
            settings["documents"]  # type: ignore[arg-type]
        ),
    )
    try:
        keys = [key for _, key, _ in await rows(target["documents"].db_url, Document,
                                                  Document.id, Document.storage_key,
                                                  Document.sha256)]  # fmt: skip
        for key in keys:
            assert await storage.get(key) == await original_storage.get(key)
    finally:
        await storage.close()
        await original_storage.close()


async def test_a_changed_backup_or_a_database_in_use_is_refused(
    platform: Platform, fresh: dict[str, str], tmp_path: Path
) -> None:
    settings = settings_of(platform)
    await backup.backup(tmp_path / "backup", settings)
    target = moved(settings, fresh, f"restored-{uuid.uuid4().hex[:8]}")

    dump = tmp_path / "backup" / "intake.dump"
    original = dump.read_bytes()
    dump.write_bytes(original[:-10] + b"0123456789")
    with pytest.raises(backup.BackupError, match="changed since the backup; nothing restored"):
        await backup.restore(tmp_path / "backup", target)
    dump.write_bytes(original)

    # The running platform's own databases are not empty: nothing is overwritten.
    with pytest.raises(backup.BackupError, match="not empty"):
        await backup.restore(tmp_path / "backup", settings)
    assert await rows(settings["gateway"].db_url, User, User.username)  # still there
