"""Object storage behind one interface: S3 (MinIO, SeaweedFS...) or a local folder.

The ``minio`` SDK is synchronous, so its calls run in a worker thread; a small upload
over plain HTTP is instead one PUT signed with the SDK's own SigV4 signer and sent on
the event loop (see ``S3Storage.put``). The local
backend, for embedded mode, writes atomically and serves downloads through signed,
expiring URLs that ``local_download_app`` checks.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import re
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Protocol, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import anyio.to_thread
import urllib3
import urllib3.exceptions
from minio import Minio
from minio.credentials.credentials import Credentials
from minio.datatypes import PostPolicy
from minio.error import S3Error
from minio.helpers import DictType
from minio.signer import sign_v4_s3
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from shared.errors import problem_response
from shared.http1 import ConnectionPool, UpstreamClosed, UpstreamConnectError, pool_for

T = TypeVar("T")
COPY_CHUNK = 256 * 1024
# Uploads up to this size are one signed PUT from the event loop: the SDK's path (a
# worker thread, urllib3) cost 1.0 ms of CPU per 100 KB PUT against 0.37 ms (measured
# against SeaweedFS); larger ones stream through the SDK, in parts when they need to.
SINGLE_PUT_MAX = 1024 * 1024

# Keys are made by the platform (random ids under a prefix), never from user input;
# the pattern still refuses anything that could leave the bucket's folder.
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.-]{0,511}$")


class InvalidKey(ValueError):
    """The key is not one the platform would make."""


class ObjectNotFound(LookupError):
    """No object under that key."""


class DirectUploadUnsupported(RuntimeError):
    """The backend takes no upload that bypasses the service (the local folder)."""


class StorageUnavailable(RuntimeError):
    """The object store could not be reached or refused the operation."""


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str
    etag: str | None = None


class Sink(Protocol):
    """Where ``copy_to`` writes: a file, or anything that checks what passes through."""

    def write(self, data: bytes, /) -> int: ...


class ObjectStorage(Protocol):
    """What services need from an object store."""

    async def put(
        self, key: str, data: bytes | BinaryIO, *, length: int, content_type: str
    ) -> ObjectInfo: ...

    async def get(self, key: str) -> bytes: ...

    async def stat(self, key: str) -> ObjectInfo: ...

    async def delete(self, key: str) -> None: ...

    async def keys(self) -> list[str]:
        """Every object's key (a backup's list; not for a request's path)."""
        ...

    async def presigned_get_url(
        self, key: str, *, expires: timedelta, filename: str | None = None,
        inline: str | None = None,
    ) -> str:  # fmt: skip
        """A URL that downloads the object until it expires, as an attachment (named
        ``filename`` when given): a stored file is never shown as a page of our site.
        ``inline``: shown in the browser instead, as this type (a PDF or an image whose
        type was read from its bytes: the caller decides which types may be)."""
        ...

    async def copy_to(self, key: str, sink: Sink) -> int:
        """Stream the object into ``sink`` (never whole in memory); return its size."""
        ...

    async def presigned_post(
        self, key: str, *, max_bytes: int, expires: timedelta
    ) -> tuple[str, dict[str, str]]:
        """A browser upload straight to the store: the URL and the form fields that
        bind it to ``key`` and to 1..``max_bytes`` bytes. ``DirectUploadUnsupported``
        where the backend has none (the local folder)."""
        ...

    async def ensure_bucket(self) -> None: ...

    async def ping(self) -> None: ...

    async def close(self) -> None:
        """Let go of kept-alive connections (the service is stopping)."""
        ...


def check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key.split("/") or "//" in key:
        raise InvalidKey(key)
    return key


class S3Storage:
    """An S3 bucket through the ``minio`` client."""

    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = False,
        region: str = "us-east-1",
    ) -> None:
        # Explicit timeouts and a small retry budget: a store that is down is reported in
        # about a second, not after the SDK's default minutes of retries.
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=2.0, read=60.0),
            retries=urllib3.Retry(total=2, backoff_factor=0.1, status_forcelist=(502, 503, 504)),
            maxsize=32,
        )
        # With the region given, the client never asks the server for it before signing.
        self._client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http,
        )
        self.bucket = bucket
        self._base_url = f"{'https' if secure else 'http'}://{endpoint}"
        self._endpoint = endpoint
        self._region = region
        self._credentials = Credentials(access_key, secret_key)
        # None over TLS, which the lean client does not speak: the SDK does it all then.
        self._pool: ConnectionPool | None = pool_for(
            self._base_url, max_connections=32, read_timeout=60.0
        )

    async def ensure_bucket(self) -> None:
        def create() -> None:
            if not self._client.bucket_exists(self.bucket):
                self._client.make_bucket(self.bucket)

        await self._call(create)

    async def put(
        self, key: str, data: bytes | BinaryIO, *, length: int, content_type: str
    ) -> ObjectInfo:
        check_key(key)
        if self._pool is not None and length <= SINGLE_PUT_MAX:
            # Small enough to hold: the documents' spool keeps this much in memory.
            body = data if isinstance(data, bytes) else data.read(length)
            if len(body) != length:
                raise ValueError(f"expected {length} bytes, got {len(body)}")
            return await self._put_once(self._pool, key, body, content_type)
        stream: BinaryIO = io.BytesIO(data) if isinstance(data, bytes) else data

        def upload() -> ObjectInfo:
            result = self._client.put_object(
                self.bucket, key, stream, length, content_type=content_type
            )
            return ObjectInfo(key, length, content_type, result.etag)

        return await self._call(upload)

    async def _put_once(
        self, pool: ConnectionPool, key: str, body: bytes, content_type: str
    ) -> ObjectInfo:
        """One PUT, signed over the body's SHA-256 as the SDK signs it over plain HTTP."""
        digest = hashlib.sha256(body).hexdigest()
        now = datetime.now(UTC)
        url = urlsplit(f"{self._base_url}/{self.bucket}/{quote(key)}")
        headers = sign_v4_s3(
            method="PUT",
            url=url,
            region=self._region,
            headers={
                "Host": self._endpoint,
                "Content-Type": content_type,
                "Content-Length": str(len(body)),
                "x-amz-content-sha256": digest,
                "x-amz-date": now.strftime("%Y%m%dT%H%M%SZ"),
            },
            credentials=self._credentials,
            content_sha256=digest,
            date=now,
        )
        lines = [f"PUT {url.path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            exchange = await pool.request(head, body)
            answer = b"".join([chunk async for chunk in exchange.body()])
        except (UpstreamConnectError, UpstreamClosed, TimeoutError, OSError) as exc:
            raise StorageUnavailable(type(exc).__name__) from exc
        if exchange.head.status != 200:
            raise StorageUnavailable(f"PUT answered {exchange.head.status}: {answer[:200]!r}")
        etag = dict(exchange.head.headers).get(b"etag", b"").decode("latin-1").strip('"')
        return ObjectInfo(key, len(body), content_type, etag or None)

    async def get(self, key: str) -> bytes:
        check_key(key)

        def download() -> bytes:
            response = self._client.get_object(self.bucket, key)
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

        return await self._call(download)

    async def stat(self, key: str) -> ObjectInfo:
        check_key(key)

        def head() -> ObjectInfo:
            info = self._client.stat_object(self.bucket, key)
            return ObjectInfo(
                key, info.size or 0, info.content_type or "application/octet-stream", info.etag
            )

        return await self._call(head)

    async def delete(self, key: str) -> None:
        check_key(key)
        await self._call(lambda: self._client.remove_object(self.bucket, key))

    async def copy_to(self, key: str, sink: Sink) -> int:
        check_key(key)

        def download() -> int:
            response = self._client.get_object(self.bucket, key)
            copied = 0
            try:
                for chunk in response.stream(COPY_CHUNK):
                    sink.write(chunk)
                    copied += len(chunk)
            finally:
                response.close()
                response.release_conn()
            return copied

        return await self._call(download)

    async def presigned_post(
        self, key: str, *, max_bytes: int, expires: timedelta
    ) -> tuple[str, dict[str, str]]:
        check_key(key)
        policy = PostPolicy(self.bucket, datetime.now(UTC) + expires)
        policy.add_equals_condition("key", key)
        policy.add_content_length_range_condition(1, max_bytes)
        fields = await self._call(lambda: self._client.presigned_post_policy(policy))
        fields["key"] = key
        return f"{self._base_url}/{self.bucket}", fields

    async def presigned_get_url(
        self, key: str, *, expires: timedelta, filename: str | None = None,
        inline: str | None = None,
    ) -> str:  # fmt: skip
        check_key(key)
        # Signed with the URL: the store answers with this Content-Disposition (and, to
        # be shown, the type), whatever the object's own headers say.
        headers: DictType = {"response-content-disposition": disposition(filename, inline)}
        if inline is not None:
            headers["response-content-type"] = inline
        url: str = await self._call(
            lambda: self._client.presigned_get_object(
                self.bucket, key, expires=expires, response_headers=headers
            )
        )
        return url

    async def keys(self) -> list[str]:
        def listing() -> list[str]:
            found = self._client.list_objects(self.bucket, recursive=True)
            return sorted(item.object_name for item in found if item.object_name)

        return await self._call(listing)

    async def ping(self) -> None:
        # Creating a missing bucket here lets a service that started while the store was
        # down become ready on its own once the store is back.
        await self.ensure_bucket()

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    async def _call(self, operation: Callable[[], T]) -> T:
        try:
            return await anyio.to_thread.run_sync(operation)
        except S3Error as exc:
            if exc.code in {"NoSuchKey", "NoSuchObject"}:
                raise ObjectNotFound(exc.object_name or "") from exc
            raise StorageUnavailable(exc.code or "S3 error") from exc
        except (OSError, urllib3.exceptions.HTTPError) as exc:
            raise StorageUnavailable(type(exc).__name__) from exc


class LocalStorage:
    """Objects as files under a folder, for embedded mode (one machine, no S3 server)."""

    def __init__(self, root: Path, *, signing_key: bytes, public_url: str) -> None:
        self.root = root
        self._objects = root / "objects"
        self._meta = root / "meta"
        self._signing_key = signing_key
        self.public_url = public_url.rstrip("/")

    def _paths(self, key: str) -> tuple[Path, Path]:
        check_key(key)
        return self._objects / key, self._meta / f"{key}.json"

    async def ensure_bucket(self) -> None:
        await anyio.to_thread.run_sync(self._make_folders)

    def _make_folders(self) -> None:
        self._objects.mkdir(parents=True, exist_ok=True)
        self._meta.mkdir(parents=True, exist_ok=True)

    async def put(
        self, key: str, data: bytes | BinaryIO, *, length: int, content_type: str
    ) -> ObjectInfo:
        object_path, meta_path = self._paths(key)

        def write() -> ObjectInfo:
            digest = hashlib.md5(usedforsecurity=False)
            written = 0
            object_path.parent.mkdir(parents=True, exist_ok=True)
            meta_path.parent.mkdir(parents=True, exist_ok=True)
            source = io.BytesIO(data) if isinstance(data, bytes) else data
            # Write to a temporary file and rename: a crash never leaves half an object.
            with tempfile.NamedTemporaryFile(dir=object_path.parent, delete=False) as tmp:
                try:
                    while chunk := source.read(1024 * 1024):
                        tmp.write(chunk)
                        digest.update(chunk)
                        written += len(chunk)
                    if written != length:
                        raise ValueError(f"expected {length} bytes, got {written}")
                    tmp.flush()
                    os.fsync(tmp.fileno())
                except BaseException:
                    os.unlink(tmp.name)
                    raise
            info = ObjectInfo(key, written, content_type, digest.hexdigest())
            meta_path.write_text(json.dumps({"content_type": content_type, "etag": info.etag}))
            os.replace(tmp.name, object_path)
            return info

        return await anyio.to_thread.run_sync(write)

    async def get(self, key: str) -> bytes:
        object_path, _ = self._paths(key)
        try:
            return await anyio.to_thread.run_sync(object_path.read_bytes)
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc

    async def stat(self, key: str) -> ObjectInfo:
        object_path, meta_path = self._paths(key)

        def head() -> ObjectInfo:
            try:
                size = object_path.stat().st_size
                meta = json.loads(meta_path.read_text())
            except FileNotFoundError as exc:
                raise ObjectNotFound(key) from exc
            return ObjectInfo(key, size, meta["content_type"], meta.get("etag"))

        return await anyio.to_thread.run_sync(head)

    async def delete(self, key: str) -> None:
        object_path, meta_path = self._paths(key)

        def remove() -> None:
            object_path.unlink(missing_ok=True)
            meta_path.unlink(missing_ok=True)

        await anyio.to_thread.run_sync(remove)

    async def keys(self) -> list[str]:
        def listing() -> list[str]:
            if not self._objects.is_dir():
                return []
            found = (p for p in self._objects.rglob("*") if p.is_file())
            return sorted(p.relative_to(self._objects).as_posix() for p in found)

        return await anyio.to_thread.run_sync(listing)

    async def copy_to(self, key: str, sink: Sink) -> int:
        object_path, _ = self._paths(key)

        def copy() -> int:
            try:
                with object_path.open("rb") as source:
                    shutil.copyfileobj(source, sink, COPY_CHUNK)
                    return source.tell()
            except FileNotFoundError as exc:
                raise ObjectNotFound(key) from exc

        return await anyio.to_thread.run_sync(copy)

    async def presigned_post(
        self, key: str, *, max_bytes: int, expires: timedelta
    ) -> tuple[str, dict[str, str]]:
        raise DirectUploadUnsupported("the local folder takes uploads through the service only")

    async def presigned_get_url(
        self, key: str, *, expires: timedelta, filename: str | None = None,
        inline: str | None = None,
    ) -> str:  # fmt: skip
        check_key(key)
        expires_at = int(time.time() + expires.total_seconds())
        name, shown = filename or "", inline or ""
        signature = self._sign(key, expires_at, name, shown)
        query = {"expires": expires_at, "name": name, "signature": signature}
        if shown:
            query["inline"] = shown
        return f"{self.public_url}/{quote(key)}?{urlencode(query)}"

    def verify(
        self, key: str, expires_at: int, signature: str, name: str = "", inline: str = ""
    ) -> bool:
        """True if the URL was signed here for this key, name and way of showing it, and
        has not expired."""
        expected = self._sign(key, expires_at, name, inline)
        return hmac.compare_digest(expected, signature.encode()) and time.time() <= expires_at

    def _sign(self, key: str, expires_at: int, name: str, inline: str = "") -> bytes:
        # An attachment's URL signs what it signed before inline URLs existed.
        shown = f"\n{inline}" if inline else ""
        message = f"{key}\n{expires_at}\n{name}{shown}".encode()
        return hmac.new(self._signing_key, message, hashlib.sha256).hexdigest().encode()

    def file_path(self, key: str) -> Path:
        return self._paths(key)[0]

    async def ping(self) -> None:
        await self.ensure_bucket()

    async def close(self) -> None:
        pass  # nothing kept open


# What a file shown in the browser may do from our origin (embedded mode serves it from
# the platform's own): nothing but be shown; the type is never guessed from the bytes.
INLINE_HEADERS = {
    "content-security-policy": "default-src 'none'; img-src 'self'; object-src 'self'; "
    "style-src 'unsafe-inline'; frame-ancestors 'self'",
    "x-content-type-options": "nosniff",
}


def disposition(filename: str | None, inline: str | None) -> str:
    """A Content-Disposition that downloads, or with ``inline`` shows the file."""
    downloaded = attachment(filename)
    return "inline" + downloaded.removeprefix("attachment") if inline else downloaded


def attachment(filename: str | None) -> str:
    """A Content-Disposition that downloads: the name as it is (RFC 6266 ``filename*``)
    and, for old clients, folded to plain ASCII without quotes or controls."""
    if not filename:
        return "attachment"
    folded = unicodedata.normalize("NFKD", filename.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_"
        for c in folded
        if not unicodedata.combining(c)
    )
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


def local_download_app(storage: LocalStorage) -> Starlette:
    """Serves ``LocalStorage``'s signed URLs: the embedded stand-in for S3 presigned GETs."""

    async def download(request: Request) -> Response:
        key = request.path_params["key"]
        try:
            expires_at = int(request.query_params.get("expires", ""))
            signature = request.query_params.get("signature", "")
            name = request.query_params.get("name", "")
            inline = request.query_params.get("inline", "")
            check_key(key)
        except (ValueError, InvalidKey):
            return problem_response(404, slug="not-found")
        if not storage.verify(key, expires_at, signature, name, inline):
            return problem_response(403, detail="Liên kết tải xuống không hợp lệ hoặc đã hết hạn.")
        try:
            info = await storage.stat(key)
        except ObjectNotFound:
            return problem_response(404, slug="not-found")
        headers = {"content-disposition": disposition(name or None, inline or None)}
        if inline:
            headers.update(INLINE_HEADERS)
        return FileResponse(
            storage.file_path(key), media_type=inline or info.content_type, headers=headers
        )

    return Starlette(routes=[Route("/{key:path}", download, methods=["GET"])])
