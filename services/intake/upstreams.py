"""What intake asks the other services, over HTTP with typed answers (DESIGN §3).

- procedures: the version of a procedure in force (pinned on the dossier) and agencies;
- tracking: an agency's working calendar, from which the appointment is computed with
  the shared engine (the same data and code tracking's clock ledger uses);
- documents: a document's metadata, asked with the caller's own token, so documents
  decides whether the caller may use it (someone else's document is a 404 there too);
- accounts (the gateway): an agency's officers, asked with the caller's token, to check
  whom a dossier is assigned to.

Catalogue answers and built calendars are kept in the process for a short while: a
submission should not cost three round trips and an engine build. A calendar change
reaches open dossiers anyway through tracking's ``dossier.due_changed``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar, cast
from urllib.parse import urlencode

import httpx
from pydantic import BaseModel, ConfigDict, RootModel, ValidationError

from shared.contracts.agencies import AgencyOfficer, CitizenAccount
from shared.contracts.calendars import CalendarView
from shared.contracts.procedures import AgencyFacts, ProcedureFacts
from shared.errors import UpstreamError, UpstreamUnavailable
from shared.http import create_http_client
from shared.http1 import UpstreamClosed, UpstreamConnectError, pool_for
from shared.worktime import WorkingTime

logger = logging.getLogger("onestop.intake.upstreams")
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class DocumentFacts(BaseModel):
    """What intake needs of a document (``GET /api/v1/documents/{id}``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: uuid.UUID
    status: str
    content_type: str
    kind: str
    owner: str
    uses: int = 0


class DocumentList(RootModel[list[DocumentFacts]]):
    pass


class CitizenList(RootModel[list[CitizenAccount]]):
    pass


class OfficerList(RootModel[list[AgencyOfficer]]):
    pass


@dataclass(frozen=True)
class AgencyCalendar:
    code: str
    version: int
    engine: WorkingTime


class TtlMemo:
    """Values by key for ``ttl`` seconds. A burst of misses on one key loads it once:
    the others wait for that load (a calendar is built once, not once per request)."""

    def __init__(self, ttl: float, max_entries: int = 2048) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._values: dict[str, tuple[float, object]] = {}
        self._loading: dict[str, asyncio.Future[object]] = {}

    async def get(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        found = self._values.get(key)
        if found is not None and found[0] > time.monotonic():
            return found[1]  # type: ignore[return-value]
        pending = self._loading.get(key)
        if pending is not None:
            return cast(T, await asyncio.shield(pending))
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it, nobody else must
            raise
        else:
            future.set_result(value)
        finally:
            del self._loading[key]
        if len(self._values) >= self._max:
            self._values.clear()
        self._values[key] = (time.monotonic() + self._ttl, value)
        return value


Fetch = Callable[[str, Mapping[str, str]], Awaitable[tuple[int, bytes]]]
Close = Callable[[], Awaitable[None]]


class _Unreachable(Exception):
    """The service could not be asked (refused, closed, timed out)."""


def _pooled(url: str) -> tuple[Fetch, Close] | None:
    """GETs over the lean keep-alive client for a plain ``http://host:port`` service,
    which costs a submission far less CPU than httpx (bench/RESULTS.md, intake). None for
    anything else (TLS, a path prefix): those keep httpx."""
    pool = pool_for(url, max_connections=100, connect_timeout=2.0, read_timeout=10.0)
    if pool is None:
        return None

    async def fetch(path: str, headers: Mapping[str, str]) -> tuple[int, bytes]:
        try:
            return await pool.get(path, headers)
        except (UpstreamConnectError, UpstreamClosed, TimeoutError, OSError) as exc:
            raise _Unreachable(repr(exc)) from exc

    return fetch, pool.close


def _through_httpx(url: str, transport: httpx.AsyncBaseTransport | None) -> tuple[Fetch, Close]:
    """GETs through httpx: in-process in embedded mode, else over TLS or a path prefix."""
    # A burst of submissions waits for a pooled connection rather than failing fast.
    timeout = httpx.Timeout(connect=2.0, read=10.0, write=10.0, pool=15.0)
    client = create_http_client(url, transport=transport, timeout=timeout)

    async def fetch(path: str, headers: Mapping[str, str]) -> tuple[int, bytes]:
        try:
            response = await client.get(path, headers=headers)
        except httpx.HTTPError as exc:
            raise _Unreachable(repr(exc)) from exc
        return response.status_code, response.content

    return fetch, client.aclose


class Upstreams:
    def __init__(
        self,
        urls: Mapping[str, str],
        *,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
        catalogue_ttl: float = 30.0,
        calendar_ttl: float = 60.0,
    ) -> None:
        transports = transports or {}
        self._fetch: dict[str, Fetch] = {}
        self._closers: list[Close] = []
        for name, url in urls.items():
            transport = transports.get(name)
            found = None if transport is not None else _pooled(url)
            fetch, close = found or _through_httpx(url, transport)
            self._fetch[name] = fetch
            self._closers.append(close)
        self._catalogue = TtlMemo(catalogue_ttl)
        self._calendars = TtlMemo(calendar_ttl)

    async def close(self) -> None:
        for close in self._closers:
            await close()

    async def _get(
        self, service: str, path: str, model: type[M], *, headers: Mapping[str, str] | None = None
    ) -> M | None:
        """The answer as ``model``; None for 404; 503 when the service cannot answer."""
        try:
            status, content = await self._fetch[service](path, headers or {})
        except _Unreachable as exc:
            logger.warning(
                f"upstream call failed: {exc}",
                extra={"upstream": service, "error": type(exc.__cause__).__name__},
            )
            raise UpstreamUnavailable(
                f"Dịch vụ {service} tạm thời không phản hồi, vui lòng thử lại."
            ) from exc
        if status == 404:
            return None
        if status >= 500:
            extra = {"upstream": service, "status": status}
            logger.warning("upstream answered an error", extra=extra)
            raise UpstreamUnavailable(
                f"Dịch vụ {service} tạm thời không phản hồi, vui lòng thử lại."
            )
        if status != 200:
            raise UpstreamError(f"Dịch vụ {service} trả lời {status}.")
        try:
            return model.model_validate_json(content)
        except ValidationError as exc:
            raise UpstreamError(f"Dịch vụ {service} trả lời không đúng định dạng.") from exc

    async def procedure(self, code: str) -> ProcedureFacts | None:
        return await self._catalogue.get(
            f"procedure:{code}",
            lambda: self._get("procedures", f"/api/v1/procedures/{code}", ProcedureFacts),
        )

    async def agency(self, code: str) -> AgencyFacts | None:
        return await self._catalogue.get(
            f"agency:{code}",
            lambda: self._get("procedures", f"/api/v1/agencies/{code}", AgencyFacts),
        )

    async def calendar(self, agency_code: str) -> AgencyCalendar | None:
        async def load() -> AgencyCalendar | None:
            view = await self._get("tracking", f"/api/v1/calendars/{agency_code}", CalendarView)
            if view is None:
                return None
            return AgencyCalendar(view.code, view.version, WorkingTime(view.spec()))

        return await self._calendars.get(agency_code, load)

    async def own_documents(
        self, ids: list[uuid.UUID], authorization: str
    ) -> dict[uuid.UUID, DocumentFacts]:
        """Those of ``ids`` that are the caller's own (one call for a whole dossier)."""
        if not ids:
            return {}
        found = await self._get(
            "documents",
            "/api/v1/documents?" + "&".join(f"id={i}" for i in dict.fromkeys(ids)),
            DocumentList,
            headers={"authorization": authorization},
        )
        return {facts.id: facts for facts in (found.root if found else [])}

    async def officers(self, agency_code: str, authorization: str) -> list[AgencyOfficer]:
        """The agency's active officers, asked as the caller (an officer of the agency:
        the gateway answers another agency's officers with 404, read here as none)."""
        found = await self._get(
            "accounts",
            f"/api/v1/agencies/{agency_code}/officers",
            OfficerList,
            headers={"authorization": authorization},
        )
        return found.root if found else []

    async def citizen(self, id_number: str, authorization: str) -> CitizenAccount | None:
        """The active citizen account of ``id_number``, asked as the caller (a desk
        officer filing at the counter)."""
        found = await self._get(
            "accounts",
            "/api/v1/citizens?" + urlencode({"id_number": id_number}),
            CitizenList,
            headers={"authorization": authorization},
        )
        return found.root[0] if found and found.root else None

    async def document(self, document_id: uuid.UUID, authorization: str) -> DocumentFacts | None:
        """The document if the caller (whose token this is) may use it."""
        return await self._get(
            "documents",
            f"/api/v1/documents/{document_id}",
            DocumentFacts,
            headers={"authorization": authorization},
        )
