"""Receiving an upload: a multipart body read chunk by chunk, checked while it arrives.

The body is never held whole: the file part goes to a spooled temporary file (memory up
to 1 MB, disk beyond), its SHA-256 is computed on the fly, and the size cap stops the
upload the moment it is crossed, without reading the rest. The type is decided from the
first bytes (magic numbers, the ``filetype`` package), never from the name or the
declared type. Only a file that passed every check is handed on to be stored.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zipfile
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from tempfile import SpooledTemporaryFile
from typing import TYPE_CHECKING, BinaryIO

import anyio.to_thread
import filetype
from python_multipart import MultipartParser

if TYPE_CHECKING:  # declared for type checkers only
    from python_multipart.multipart import MultipartCallbacks
from python_multipart.multipart import parse_options_header

from shared.errors import AppError, BadRequest, PayloadTooLarge, Unprocessable

SPOOL_IN_MEMORY = 1024 * 1024
HEADER_BYTES = 8192  # enough for filetype's matchers, office documents included
MAX_NAME = 200
MAX_FIELD = 1000  # bytes of a plain form field (``kind``)

# What the platform accepts, by the type the bytes say (DESIGN §7).
PDF, JPEG, PNG = "application/pdf", "image/jpeg", "image/png"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ALWAYS = frozenset({PDF, JPEG, PNG})
OFFICE = frozenset({DOCX, XLSX})  # only where a procedure accepts them


class UnsupportedMediaType(AppError):
    status, slug = 415, "unsupported-media-type"


# An office document is a ZIP archive: bounded when it arrives, so that a small upload
# cannot expand into gigabytes (a zip bomb) on an officer's machine or in a scanner.
MAX_ARCHIVE_ENTRIES = 1000
MAX_EXPANDED_BYTES = 100 * 1024 * 1024
ARCHIVE_REFUSED = "Tệp văn phòng (DOCX, XLSX) không hợp lệ hoặc giải nén ra quá lớn."


def check_archive(spool: BinaryIO) -> None:
    """Refuse an office document whose archive is broken, has too many entries, or
    expands past ``MAX_EXPANDED_BYTES``. The sizes its directory declares are not
    trusted: every entry is inflated, counting, and stopped at the bound. Blocking
    (it reads and inflates): run it in a worker thread."""
    spool.seek(0)
    try:
        with zipfile.ZipFile(spool) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ARCHIVE_ENTRIES:
                raise Unprocessable(ARCHIVE_REFUSED)
            if sum(entry.file_size for entry in entries) > MAX_EXPANDED_BYTES:
                raise Unprocessable(ARCHIVE_REFUSED)
            expanded = 0
            for entry in entries:
                with archive.open(entry) as member:
                    while chunk := member.read(1024 * 1024):
                        expanded += len(chunk)
                        if expanded > MAX_EXPANDED_BYTES:
                            raise Unprocessable(ARCHIVE_REFUSED)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError,
            EOFError, zlib.error) as exc:  # fmt: skip
        raise Unprocessable(ARCHIVE_REFUSED) from exc
    finally:
        spool.seek(0)


@dataclass
class Received:
    """A checked file, still in its spool, with what was learnt while reading it."""

    spool: BinaryIO
    name: str
    size: int
    sha256: str
    content_type: str
    fields: dict[str, str] = field(default_factory=dict)
    # Text fields sent more than once: the caller checks those it reads (form_fields).
    repeated: frozenset[str] = frozenset()

    def close(self) -> None:
        self.spool.close()


def clean_name(raw: str) -> str:
    """The original file name, kept for people; refused if it tries anything."""
    name = unicodedata.normalize("NFC", raw).strip()
    if any(unicodedata.category(char) in ("Cc", "Cf") for char in name):
        raise Unprocessable(
            "Tên tệp chứa ký tự điều khiển.",
            errors=[{"pointer": "#/file/filename", "message": "Tên tệp không hợp lệ."}],
        )
    if "/" in name or "\\" in name or name in ("", ".", "..") or name.startswith(".."):
        raise Unprocessable(
            "Tên tệp không được chứa đường dẫn.",
            errors=[{"pointer": "#/file/filename", "message": "Tên tệp không hợp lệ."}],
        )
    name = re.sub(r"\s+", " ", name)
    return name[:MAX_NAME]


def detect(header: bytes, allowed: frozenset[str]) -> str:
    kind = filetype.guess(header)
    mime = kind.mime if kind is not None else None
    if mime not in allowed:
        raise UnsupportedMediaType(
            "Định dạng tệp không được chấp nhận: chỉ PDF, JPEG, PNG"
            + (", DOCX, XLSX" if allowed >= OFFICE else "")
            + " (xét theo nội dung tệp, không theo tên).",
        )
    return str(mime)


class _Part:
    def __init__(self) -> None:
        self.disposition = b""
        self.name = ""
        self.filename: str | None = None
        self.data = bytearray()


class _FormReader:
    """The parser's callbacks and what they gather: the one file (spooled, hashed, its
    first bytes kept for the type, its size capped as it streams) and the text fields."""

    def __init__(self, *, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.spool: BinaryIO = SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # type: ignore[assignment]  # noqa: SIM115
        self.digest = hashlib.sha256()
        self.header = bytearray()
        self.size = 0
        self.ended = False
        self.file_name: str | None = None
        self.fields: dict[str, str] = {}
        self.repeated: set[str] = set()
        self.current = _Part()
        self.header_field = b""
        self.header_value = b""

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self.current = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        if self.header_field.lower() == b"content-disposition":
            self.current.disposition = self.header_value
        self.header_field = self.header_value = b""

    def on_headers_finished(self) -> None:
        current = self.current
        _, disposition = parse_options_header(current.disposition)
        current.name = disposition.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in disposition:
            current.filename = disposition[b"filename"].decode("utf-8", "replace")
            if current.name != "file" or self.file_name is not None:
                raise BadRequest("Chỉ gửi một tệp, trong trường 'file'.")
            self.file_name = clean_name(current.filename)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self.current.filename is None:
            self.current.data.extend(chunk)
            if len(self.current.data) > MAX_FIELD:
                raise BadRequest("Trường biểu mẫu quá dài.")
            return
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise PayloadTooLarge(f"Tệp vượt quá {self.max_bytes // (1024 * 1024)} MB.")
        if len(self.header) < HEADER_BYTES:
            self.header.extend(chunk[: HEADER_BYTES - len(self.header)])
        self.digest.update(chunk)
        self.spool.write(chunk)

    def on_part_end(self) -> None:
        current = self.current
        if current.filename is None and current.name:
            if current.name in self.fields:
                self.repeated.add(current.name)
            self.fields[current.name] = current.data.decode("utf-8", "replace")

    def on_end(self) -> None:
        self.ended = True

    def check_complete(self) -> str:
        """The file's name once the whole body is read, or why there is no usable file."""
        if not self.ended:
            raise BadRequest("Nội dung gửi lên bị cắt ngang: tệp chưa nhận đủ.")
        if self.file_name is None:
            raise Unprocessable(
                "Thiếu tệp.", errors=[{"pointer": "#/file", "message": "Cần trường 'file'."}]
            )
        if self.size == 0:
            raise Unprocessable(
                "Tệp rỗng.", errors=[{"pointer": "#/file", "message": "Tệp không có nội dung."}]
            )
        return self.file_name


async def receive(
    content_type: str,
    body: AsyncIterator[bytes],
    *,
    max_bytes: int,
    allowed: frozenset[str],
) -> Received:
    """Read a ``multipart/form-data`` body with one file part named ``file``."""
    media, options = parse_options_header(content_type)
    if media != b"multipart/form-data" or b"boundary" not in options:
        raise UnsupportedMediaType("Cần gửi tệp dạng multipart/form-data (trường 'file').")
    reader = _FormReader(max_bytes=max_bytes)
    parser = MultipartParser(options[b"boundary"], reader.callbacks())
    try:
        async for chunk in body:
            if chunk:
                parser.write(chunk)
        name = reader.check_complete()
        content = detect(bytes(reader.header), allowed)
        if content in OFFICE:
            await anyio.to_thread.run_sync(check_archive, reader.spool)
    except AppError:
        reader.spool.close()
        raise
    except Exception as exc:  # the parser's own errors: a malformed body
        reader.spool.close()
        raise BadRequest("Nội dung multipart không hợp lệ.") from exc
    reader.spool.seek(0)
    return Received(
        spool=reader.spool,
        name=name,
        size=reader.size,
        sha256=reader.digest.hexdigest(),
        content_type=content,
        fields=reader.fields,
        repeated=frozenset(reader.repeated),
    )


class CheckingSink:
    """A spool that hashes and keeps the first bytes of what is written to it (for a file
    read back from the store, as a presigned upload's confirmation does)."""

    def __init__(self) -> None:
        self.spool: BinaryIO = SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # type: ignore[assignment]  # noqa: SIM115
        self.digest = hashlib.sha256()
        self.header = bytearray()
        self.size = 0

    def write(self, chunk: bytes) -> int:
        self.digest.update(chunk)
        if len(self.header) < HEADER_BYTES:
            self.header.extend(chunk[: HEADER_BYTES - len(self.header)])
        self.size += len(chunk)
        return self.spool.write(chunk)
