"""Logs with a request id and no personal data (structlog over the standard library):
JSON lines, or readable lines on a terminal.

The request id comes from the caller's ``X-Request-ID`` (when it is well formed) or is
made here; it is kept in a context variable, returned in the response, passed on to
every downstream call and event, and written on every log line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.typing import EventDict, Processor

REQUEST_ID_HEADER = "x-request-id"
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
# A caller's request id is kept only if it has the shape of an id (1 to 64 letters,
# digits and . _ : -) and holds nothing that reads as personal data: a citizen's ID
# number sent as a request id must not reach the logs.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")

# Personal data that may slip into a message: 12-digit personal identification numbers
# (CCCD), 9-digit old ID numbers, Vietnamese phone numbers, e-mail addresses.
_PERSONAL_DATA = re.compile(
    r"(?<!\d)(?:\d{12}|\d{9}|(?:\+?84|0)\d{9,10})(?!\d)|[\w.+-]+@[\w-]+\.[\w.-]+"
)


def safe_request_id(candidate: str) -> bool:
    """Whether a caller's request id may be kept (and logged) as it is."""
    return _SAFE_REQUEST_ID.match(candidate) is not None and redact(candidate) == candidate


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> None:
    _request_id.set(value)


def redact(text: str) -> str:
    """Mask anything in ``text`` that looks like personal data."""
    return _PERSONAL_DATA.sub("[redacted]", text)


def _add_request_id(_logger: Any, _method: str, event: EventDict) -> EventDict:
    request_id = _request_id.get()
    if request_id:
        event["request_id"] = request_id
    return event


def _redact_values(_logger: Any, _method: str, event: EventDict) -> EventDict:
    """Mask personal data in every text of the line: the message, extras, a traceback.
    Uvicorn's ``color_message`` (its message with terminal colors) is left out."""
    event.pop("color_message", None)
    for key, value in event.items():
        if isinstance(value, str) and not key.startswith("_"):
            event[key] = redact(value)
    if "exception" in event:
        event["exc"] = event.pop("exception")
    return event


# What every line gets, from any logger (ours, uvicorn's, SQLAlchemy's, alembic's).
_CHAIN: list[Processor] = [
    structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.ExtraAdder(),
    _add_request_id,
    structlog.processors.format_exc_info,
    structlog.processors.EventRenamer("msg"),
    _redact_values,
]


class JsonFormatter(structlog.stdlib.ProcessorFormatter):
    """One JSON object per line: time, level, logger, extras, request id, message."""

    def __init__(self) -> None:
        super().__init__(
            foreign_pre_chain=_CHAIN,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(ensure_ascii=False, default=str),
            ],
        )


class ConsoleFormatter(structlog.stdlib.ProcessorFormatter):
    """One line a person reads on a terminal: time, level, message, logger, extras."""

    def __init__(self, *, colors: bool) -> None:
        super().__init__(
            foreign_pre_chain=_CHAIN,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.dev.ConsoleRenderer(
                    colors=colors, event_key="msg", timestamp_key="ts", pad_event_to=40
                ),
            ],
        )


def configure_logging(level: str = "INFO", *, log_format: str = "auto") -> None:
    """Send every logger (ours, uvicorn's, SQLAlchemy's) to stderr: JSON lines, or
    readable lines ("console"; "auto": when stderr is a terminal), colored on one only."""
    terminal = sys.stderr.isatty()
    readable = log_format == "console" or (log_format == "auto" and terminal)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(ConsoleFormatter(colors=terminal) if readable else JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Our middleware writes the access log (with the request id); uvicorn's would repeat it,
    # and httpx's line per outgoing request (the SMS receipts' poll every few seconds)
    # would drown the rest.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("httpx").setLevel(logging.WARNING)


access_logger = logging.getLogger("onestop.access")
logger = logging.getLogger("onestop.errors")

_INTERNAL_ERROR_BODY = json.dumps(
    {"type": "/problems/internal-error", "title": "Lỗi hệ thống", "status": 500},
    ensure_ascii=False,
).encode()
_INTERNAL_ERROR_START: Message = {
    "type": "http.response.start",
    "status": 500,
    "headers": [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(_INTERNAL_ERROR_BODY)).encode()),
    ],
}


def with_security_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Every response declares its type final (no sniffing a PDF into a page); an HTML
    page may not be framed by another site (clickjacking). A header an app set itself
    (a page's own Content-Security-Policy) is left as it is."""
    names = {name.lower() for name, _ in headers}
    if b"x-content-type-options" not in names:
        headers.append((b"x-content-type-options", b"nosniff"))
    html = any(n.lower() == b"content-type" and v.startswith(b"text/html") for n, v in headers)
    if html:
        if b"x-frame-options" not in names:
            headers.append((b"x-frame-options", b"DENY"))
        if b"content-security-policy" not in names:
            headers.append((b"content-security-policy", b"frame-ancestors 'none'"))
    return headers


class RequestContextMiddleware:
    """Pure ASGI middleware: request id in and out, and one access-log line per request.

    Pure ASGI (not ``BaseHTTPMiddleware``) so that bodies stream through untouched and the
    gateway's forwarding path stays cheap.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if safe_request_id(candidate):
                    request_id = candidate
                break
        if request_id is None:
            request_id = uuid.uuid4().hex
            # Downstream code (the gateway's forwarder) reads the id from the headers:
            # the caller's, if refused, must not travel on in its place.
            scope["headers"] = [
                *(h for h in scope["headers"] if h[0] != b"x-request-id"),
                (b"x-request-id", request_id.encode()),
            ]
        token = _request_id.set(request_id)
        started = time.perf_counter()
        status = 500
        header = (b"x-request-id", request_id.encode())

        status_sent = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, status_sent
            if message["type"] == "http.response.start":
                status = message["status"]
                status_sent = True
                message["headers"] = with_security_headers([*message.get("headers", []), header])
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Here, not in Starlette's outermost error middleware, so that the 500 carries
            # the request id and the log line has it too. Nothing of the error is sent.
            logger.exception("unhandled error", extra={"path": scope["path"]})
            if status_sent:
                raise
            await send_with_id(dict(_INTERNAL_ERROR_START))  # a copy: headers get added
            await send_with_id({"type": "http.response.body", "body": _INTERNAL_ERROR_BODY})
        finally:
            if access_logger.isEnabledFor(logging.INFO):
                # The path only: query strings may carry personal data.
                access_logger.info(
                    "%s %s %d",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={"duration_ms": round((time.perf_counter() - started) * 1000, 2)},
                )
            _request_id.reset(token)
