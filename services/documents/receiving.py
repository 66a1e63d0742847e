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
from typing import BinaryIO

import anyio.to_thread
import filetype
from python_multipart import MultipartParser
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
    spool: BinaryIO = SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # type: ignore[assignment]  # noqa: SIM115
    digest = hashlib.sha256()
    state = {"size": 0, "ended": False, "files": 0}
    header = bytearray()
    fields: dict[str, str] = {}
    repeated: set[str] = set()
    current = _Part()
    pending_header: list[bytes] = [b"", b""]
    file_name: list[str] = []

    def on_part_begin() -> None:
        nonlocal current
        current = _Part()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        pending_header[0] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        pending_header[1] += data[start:end]

    def on_header_end() -> None:
        if pending_header[0].lower() == b"content-disposition":
            current.disposition = pending_header[1]
        pending_header[0] = pending_header[1] = b""

    def on_headers_finished() -> None:
        _, disposition = parse_options_header(current.disposition)
        current.name = disposition.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in disposition:
            current.filename = disposition[b"filename"].decode("utf-8", "replace")
            if current.name != "file" or state["files"]:
                raise BadRequest("Chỉ gửi một tệp, trong trường 'file'.")
            state["files"] += 1
            file_name.append(clean_name(current.filename))

    def on_part_data(data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if current.filename is None:
            current.data.extend(chunk)
            if len(current.data) > MAX_FIELD:
                raise BadRequest("Trường biểu mẫu quá dài.")
            return
        state["size"] += len(chunk)
        if state["size"] > max_bytes:
            raise PayloadTooLarge(f"Tệp vượt quá {max_bytes // (1024 * 1024)} MB.")
        if len(header) < HEADER_BYTES:
            header.extend(chunk[: HEADER_BYTES - len(header)])
        digest.update(chunk)
        spool.write(chunk)

    def on_part_end() -> None:
        if current.filename is None and current.name:
            if current.name in fields:
                repeated.add(current.name)
            fields[current.name] = current.data.decode("utf-8", "replace")

    def on_end() -> None:
        state["ended"] = True

    parser = MultipartParser(
        options[b"boundary"],
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_end": on_end,
        },
    )
    try:
        async for chunk in body:
            if chunk:
                parser.write(chunk)
        if not state["ended"]:
            raise BadRequest("Nội dung gửi lên bị cắt ngang: tệp chưa nhận đủ.")
        if not file_name:
            raise Unprocessable(
                "Thiếu tệp.", errors=[{"pointer": "#/file", "message": "Cần trường 'file'."}]
            )
        if state["size"] == 0:
            raise Unprocessable(
                "Tệp rỗng.", errors=[{"pointer": "#/file", "message": "Tệp không có nội dung."}]
            )
        content = detect(bytes(header), allowed)
        if content in OFFICE:
            await anyio.to_thread.run_sync(check_archive, spool)
    except AppError:
        spool.close()
        raise
    except Exception as exc:  # the parser's own errors: a malformed body
        spool.close()
        raise BadRequest("Nội dung multipart không hợp lệ.") from exc
    spool.seek(0)
    return Received(
        spool=spool,
        name=file_name[0],
        size=state["size"],
        sha256=digest.hexdigest(),
        content_type=content,
        fields=fields,
        repeated=frozenset(repeated),
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
