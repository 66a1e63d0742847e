"""Clients of the platform as they would behave while servers die under them.

Citizens submit (each submission retried with its own Idempotency-Key until it is
acknowledged); officers take each dossier received -> assigned -> resolved (a result file
uploaded) -> returned. Every call that gets a 503 waits its Retry-After and tries again;
a call the front door refuses (the gateway itself is down) waits a second and tries
again; a submission or an action whose key is still held by its first attempt (409 with
Retry-After: that attempt's process died) waits as told. Each action is sent with an
Idempotency-Key too, so that one whose answer was lost is not done twice.

What the clients saw is kept (``Seen``) for the checks: every status by operation, every
acknowledged submission, and what no client should ever see: a 5xx other than 503, a
503 without Retry-After, or no answer within the time-out.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.chaos.stage import CENTRE, LICENCE, PDF, Citizen, Stage

TIMEOUT = 15.0  # a call without an answer by then hangs
REFUSED_WAIT = 1.0  # the front door refused: try again after this
ACTIONS = {"receive": "received", "assign": "processing", "resolve": "resolved",
           "return": "returned"}  # fmt: skip


@dataclass
class Seen:
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)  # no connection to the gateway
    wrong: list[str] = field(default_factory=list)  # a 500, a bare 503, a hang
    bare_503: int = 0  # 503s without Retry-After (also in ``wrong``)
    acknowledged: dict[str, str] = field(default_factory=dict)  # Idempotency-Key: code
    replayed: int = 0  # submissions acknowledged after more than one attempt
    returned: dict[str, float] = field(default_factory=dict)  # code: when returned (monotonic)
    replayed_actions: int = 0  # an action's retry answered with its first answer
    unavailable_seconds: float = 0.0  # time spent waiting on 503s and refusals

    def count(self, status: int) -> int:
        return sum(n for (_, s), n in self.statuses.items() if s == status)


class Clients:
    """The traffic: ``citizens`` submitting every ``pace`` seconds each, one officer
    team working the dossiers as they come, until ``stop()``; ``drain()`` then waits
    for every submitted dossier to be returned."""

    def __init__(self, stage: Stage, *, pace: float = 0.5, give_up_after: float = 120.0):
        self.stage = stage
        self.pace = pace
        self.give_up_after = give_up_after
        self.seen = Seen()
        self._client = httpx.AsyncClient(base_url=stage.cluster.url, timeout=TIMEOUT)
        self._stop = asyncio.Event()
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Clients:
        citizens = [asyncio.create_task(self._citizen(c)) for c in self.stage.citizens]
        self._submitters = asyncio.gather(*citizens)
        self._tasks = [asyncio.create_task(self._officers())]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        for task in self._tasks:
            task.cancel()
        self._submitters.cancel()
        await asyncio.gather(self._submitters, *self._tasks, return_exceptions=True)
        await self._client.aclose()

    async def drain(self) -> None:
        """No more submissions; every one acknowledged is taken to the end."""
        self._stop.set()
        await self._submitters
        await self._queue.put(None)
        await asyncio.gather(*self._tasks)

    async def call(
        self, operation: str, method: str, url: str, headers: dict[str, str], **kwargs: Any
    ) -> httpx.Response:
        """The answer that is not 503, retried as a well-behaved client retries."""
        answer, _ = await self.attempts(operation, method, url, headers, **kwargs)
        return answer

    async def attempts(
        self, operation: str, method: str, url: str, headers: dict[str, str], **kwargs: Any
    ) -> tuple[httpx.Response, int]:
        """``call``, with the number of attempts it took."""
        give_up = time.monotonic() + self.give_up_after
        for tries in itertools.count(1):
            if time.monotonic() > give_up:
                raise AssertionError(f"{operation}: still unavailable after {self.give_up_after}s")
            began = time.monotonic()
            try:
                answer = await self._client.request(method, url, headers=headers, **kwargs)
            except httpx.TimeoutException:
                self.seen.wrong.append(f"{operation}: no answer within {TIMEOUT}s")
                continue
            except httpx.TransportError:
                self.seen.refused[operation] += 1
                await asyncio.sleep(REFUSED_WAIT)
                self.seen.unavailable_seconds += time.monotonic() - began
                continue
            self.seen.statuses[operation, answer.status_code] += 1
            # 409 with Retry-After: the key's first run holds it (its answer was lost,
            # or its process died and the lease has still to run out).
            waits = answer.status_code == 409 and "retry-after" in answer.headers
            if answer.status_code == 503 or waits:
                wait = answer.headers.get("retry-after")
                if wait is None or not wait.isdigit():
                    self.seen.bare_503 += 1
                    self.seen.wrong.append(f"{operation}: 503 without Retry-After {answer.text}")
                await asyncio.sleep(int(wait) if wait and wait.isdigit() else 1)
                self.seen.unavailable_seconds += time.monotonic() - began
                continue
            if answer.status_code >= 500:
                self.seen.wrong.append(f"{operation}: {answer.status_code} {answer.text[:300]}")
                await asyncio.sleep(1)
                continue
            return answer, tries
        raise AssertionError("unreachable")

    async def _citizen(self, citizen: Citizen) -> None:
        for number in itertools.count():
            if self._stop.is_set():
                return
            await self.submit(citizen)
            if number % 5 == 4:  # now and then a new file (S3 and documents in the path)
                await self.upload(citizen.headers, "upload")
            await asyncio.sleep(self.pace)

    async def submit(self, citizen: Citizen) -> str:
        key = str(uuid.uuid4())
        body = {"procedure_code": LICENCE, "agency_code": CENTRE, "applicant": citizen.form,
                "documents": citizen.documents}  # fmt: skip
        headers = {**citizen.headers, "idempotency-key": key}
        answer, tries = await self.attempts(
            "submit", "POST", "/api/v1/dossiers", headers, json=body
        )
        assert answer.status_code == 201, answer.text
        code: str = answer.json()["code"]
        self.seen.acknowledged[key] = code
        self.seen.replayed += tries > 1
        await self._queue.put(code)
        return code

    async def upload(self, headers: dict[str, str], operation: str, **data: str) -> str:
        path = "/api/v1/documents/results" if data else "/api/v1/documents"
        files = {"file": ("kết quả.pdf" if data else "tờ khai.pdf", PDF, "application/pdf")}
        answer = await self.call(operation, "POST", path, headers, data=data or None, files=files)
        assert answer.status_code == 201, answer.text
        document_id: str = answer.json()["id"]
        return document_id

    async def _officers(self) -> None:
        officers, workers = self.stage.officers, []
        while (code := await self._queue.get()) is not None:
            workers.append(asyncio.create_task(self._take(code, officers)))
        await asyncio.gather(*workers)

    async def _take(self, code: str, officers: dict[str, dict[str, str]]) -> None:
        await self.act(code, "receive", officers["desk"])
        await self.act(code, "assign", officers["leader"], assignee=self.stage.specialist_id)
        read = await self.call("read", "GET", f"/api/v1/dossiers/{code}", officers["specialist"])
        owner = read.json()["applicant_account"]
        result = await self.upload(officers["specialist"], "result upload", owner=owner,
                                   dossier_code=code, agency_code=CENTRE)  # fmt: skip
        await self.act(code, "resolve", officers["specialist"], result_documents=[result])
        await self.act(code, "return", officers["desk"])
        self.seen.returned[code] = time.monotonic()

    async def act(self, code: str, action: str, who: dict[str, str], **body: Any) -> None:
        """The action, its retries under one Idempotency-Key: done once, however often
        it is sent."""
        url = f"/api/v1/dossiers/{code}/actions/{action}"
        headers = {**who, "idempotency-key": str(uuid.uuid4())}
        answer = await self.call(action, "POST", url, headers, json=body)
        if answer.status_code != 200 or answer.json()["status"] != ACTIONS[action]:
            raise AssertionError(f"{action} {code}: {answer.status_code} {answer.text}")
        self.seen.replayed_actions += answer.headers.get("idempotent-replayed") == "true"
