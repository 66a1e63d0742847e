"""``onestop backup`` and ``onestop restore``: every service's database (pg_dump's custom
format) and the documents' bucket, in one folder with a manifest of checksums.

A backup is taken from a running install: each database's dump is one consistent
snapshot (pg_dump's transaction); objects are never changed once written, only added,
so a copy of the bucket taken after the dumps holds every document they name. A
restore checks every file against the manifest before it touches anything, then goes
into empty databases and an empty bucket only (``replace`` drops what is there first).

Part of the composition root: it reads every service's settings.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import anyio.to_thread
from sqlalchemy.engine import URL, make_url

from services.documents.config import DocumentsSettings
from services.documents.main import create_storage
from shared.migrations import connect, ensure_database
from shared.settings import Mode, ServiceSettings
from shared.storage import ObjectStorage

MANIFEST = "manifest.json"
FORMAT = 1


class BackupError(RuntimeError):
    """What stops a backup or a restore, said so that the operator can act on it."""


@dataclass(frozen=True)
class Summary:
    databases: dict[str, int]  # bytes of each dump
    objects: int
    object_bytes: int


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A database URL as pg_dump takes it, and its password apart (in the environment,
    never on a command line that ``ps`` shows)."""
    parsed: URL = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise BackupError(
            "backups are of PostgreSQL (distributed mode); an embedded install is its data "
            "folder: stop `onestop run` and copy the folder"
        )
    env = {**os.environ}
    if parsed.password is not None:
        env["PGPASSWORD"] = parsed.password
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


async def _run(*command: str, env: Mapping[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(
        *command, env=dict(env), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, error = await process.communicate()
    if process.returncode != 0:
        lines = error.decode(errors="replace").strip().splitlines()
        raise BackupError(f"{command[0]} failed: {lines[-1] if lines else process.returncode}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


async def backup(destination: Path, settings: Mapping[str, ServiceSettings]) -> Summary:
    """Dump every service's database and copy the documents' bucket into
    ``destination`` (a new folder: a backup never overwrites another)."""
    if any(s.platform.mode is not Mode.DISTRIBUTED for s in settings.values()):
        _libpq("sqlite://")  # the embedded refusal, with its advice
    try:
        await anyio.Path(destination).mkdir(parents=True)
    except FileExistsError as exc:
        raise BackupError(f"{destination} exists: a backup goes into a new folder") from exc
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "onestop": version("onestop"),
        "started_at": datetime.now(UTC).isoformat(),
        "databases": {},
        "objects": [],
    }
    sizes = {}
    for name, service in settings.items():
        url, env = _libpq(service.db_url)
        dump = destination / f"{name}.dump"
        await _run("pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                   f"--file={dump}", f"--dbname={url}", env=env)  # fmt: skip
        sizes[name] = (await anyio.Path(dump).stat()).st_size
        manifest["databases"][name] = {
            "file": dump.name, "sha256": await anyio.to_thread.run_sync(_sha256, dump),
        }  # fmt: skip
    documents = settings.get("documents")
    count = total = 0
    if isinstance(documents, DocumentsSettings):
        storage = create_storage(documents)
        try:
            folder = destination / "objects"
            for key in await storage.keys():
                info = await storage.stat(key)
                path = folder / key
                await anyio.Path(path.parent).mkdir(parents=True, exist_ok=True)
                data = await storage.get(key)
                await anyio.Path(path).write_bytes(data)
                manifest["objects"].append({
                    "key": key, "size": len(data), "content_type": info.content_type,
                    "sha256": hashlib.sha256(data).hexdigest(),
                })  # fmt: skip
                count, total = count + 1, total + len(data)
        finally:
            await storage.close()
    manifest["finished_at"] = datetime.now(UTC).isoformat()
    await anyio.Path(destination / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return Summary(sizes, count, total)


def _checked_manifest(source: Path) -> dict[str, Any]:
    """The manifest, once every file it names is there with its checksum."""
    try:
        manifest: dict[str, Any] = json.loads((source / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source}: no readable {MANIFEST}: not a backup") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source}: backup format {manifest.get('format')}, not {FORMAT}")
    files = [(source / d["file"], d["sha256"]) for d in manifest["databases"].values()]
    files += [(source / "objects" / o["key"], o["sha256"]) for o in manifest["objects"]]
    for path, expected in files:
        if not path.is_file() or _sha256(path) != expected:
            raise BackupError(f"{path}: missing or changed since the backup; nothing restored")
    return manifest


async def _tables(url: str) -> int:
    connection = await connect(url)
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
        return count
    finally:
        await connection.close()


async def restore(
    source: Path, settings: Mapping[str, ServiceSettings], *, replace: bool = False
) -> Summary:
    """Put a backup back: each service's database and the documents. Into empty ones
    only, unless ``replace`` (then what is there is dropped first)."""
    manifest = await anyio.to_thread.run_sync(_checked_manifest, source)
    missing = set(settings) - set(manifest["databases"])
    if missing:
        raise BackupError(f"the backup has no database of {', '.join(sorted(missing))}")
    documents = settings.get("documents")
    storage: ObjectStorage | None = None
    if isinstance(documents, DocumentsSettings):
        storage = create_storage(documents)
    try:
        if not replace:
            for name, service in settings.items():
                await ensure_database(service.db_url)
                if await _tables(service.db_url):
                    raise BackupError(
                        f"{name}'s database is not empty: restore into new databases, or "
                        "give --replace to drop what is there"
                    )
            if storage is not None and manifest["objects"]:
                await storage.ensure_bucket()
                if await storage.keys():
                    raise BackupError("the documents' bucket is not empty (--replace: keep it)")
        sizes = {}
        for name, service in settings.items():
            await ensure_database(service.db_url)
            url, env = _libpq(service.db_url)
            dump = source / manifest["databases"][name]["file"]
            options = ["--clean", "--if-exists"] if replace else []
            await _run("pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                       "--single-transaction", *options, f"--dbname={url}", str(dump),
                       env=env)  # fmt: skip
            sizes[name] = (await anyio.Path(dump).stat()).st_size
        count = total = 0
        if storage is not None:
            await storage.ensure_bucket()
            for item in manifest["objects"]:
                data = await anyio.Path(source / "objects" / item["key"]).read_bytes()
                await storage.put(item["key"], data, length=len(data),
                                  content_type=item["content_type"])  # fmt: skip
                count, total = count + 1, total + len(data)
        return Summary(sizes, count, total)
    finally:
        if storage is not None:
            await storage.close()
