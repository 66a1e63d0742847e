"""The authorization matrix, generated from the public OpenAPI document: every operation
of ``/api/v1`` is called as each kind of caller, and the answers are held to what the
operation declares (``x-access``, ``shared/access.py``). An operation that declares
nothing fails.

The callers: nobody (no token), the citizen who owns the dossier and its documents,
another citizen, an officer of the dossier's agency (holding every position there, so
that positions, which intake's own tests cover, do not hide the agency's scoping), an
officer of another agency, and an admin.

What is held:
- a caller the declaration lets in is not refused: no 401 or 403, no 5xx, and no 404
  where it is let in only as the object's owner or agency (the object exists);
- a caller it does not let in is refused: 401 without a token, 403 or 404 with one, and
  a caller refused by scoping alone gets exactly what it would get for an object that
  does not exist (nothing tells it that the object is there).

Safe methods are called first, so that the others' changes (an action, unpublishing a
procedure) cannot turn a read into a refusal.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.access import ACCESS, Grant
from shared.auth import AgencyMembership, Position, Principal, Role
from tests.intake.flow import PDF, submit
from tests.platform import CENTRE, Platform, embedded, eventually

OTHER_AGENCY = "000.00.07.H49"  # a seeded agency with nothing to do with the dossier
SANDBOX_PROCEDURE = "TTHC-30"  # the admin routes may change it; the dossier's is TTHC-20
CALLERS = ("anonymous", "owner", "other_citizen", "officer", "other_officer", "admin")
# The callers each grant lets in, and whether only as the object's owner or agency.
LETS_IN: dict[Grant, tuple[str, ...]] = {
    Grant.PUBLIC: CALLERS,
    Grant.SIGNED: (),
    Grant.CITIZEN: ("owner", "other_citizen"),
    Grant.OWN: ("owner",),
    Grant.OFFICER: ("officer", "other_officer"),
    Grant.AGENCY: ("officer",),
    Grant.ADMIN: ("admin",),
}
SCOPED = {Grant.OWN, Grant.AGENCY}
# Who a scoped grant leaves out for not owning the object (the role would do).
SCOPED_OUT = {Grant.OWN: "other_citizen", Grant.AGENCY: "other_officer"}
SAFE = ("get", "head")


@dataclass
class World:
    platform: Platform
    dossier: str
    document: str

    def headers(self, caller: str) -> dict[str, str]:
        """A fresh token each call: a logout in the matrix revokes only its own."""
        everywhere = tuple(AgencyMembership(agency_code=CENTRE, position=p) for p in Position)
        elsewhere = tuple(AgencyMembership(agency_code=OTHER_AGENCY, position=p) for p in Position)
        principals = {
            "owner": Principal(subject="owner-1", username="001099000001", role=Role.CITIZEN),
            "other_citizen": Principal(
                subject="citizen-2", username="001099000002", role=Role.CITIZEN
            ),
            "officer": Principal(
                subject="officer-1", username="canbo", role=Role.OFFICER, agencies=everywhere
            ),
            "other_officer": Principal(
                subject="officer-2", username="canbo2", role=Role.OFFICER, agencies=elsewhere
            ),
            "admin": Principal(subject="admin-1", username="admin", role=Role.ADMIN),
        }
        if caller == "anonymous":
            return {}
        return self.platform.auth(principals[caller])

    def path_value(self, path: str, name: str, *, missing: bool = False) -> str:
        """A value for ``{name}`` in ``path``: the world's object, or one that does not exist."""
        before = path.split("{" + name + "}")[0].rstrip("/").rsplit("/", 1)[-1]
        if name == "document_id":
            return str(uuid.uuid4()) if missing else self.document
        if name in ("agency_code", "key") or (name == "code" and before == "agencies"):
            return "000.00.99.H49" if missing else CENTRE
        if name == "code" and before == "procedures":
            return SANDBOX_PROCEDURE
        if name == "code":  # a dossier: /dossiers, /lookup, /national, dead letters
            return self.dossier[:-4] + "9999" if missing else self.dossier
        if name == "version":
            return "1"
        if name == "kind":  # a slip's, or an address's in the notifications' settings
            return "email" if "/notifications/" in path else "receipt"
        if name == "message_id":  # a message of the caller's inbox, or an admin's resend
            return str(uuid.uuid4())
        if name == "officer_id":  # the admin's routes: whether one answers, not what to
            return str(uuid.uuid4())
        raise AssertionError(f"no value for {{{name}}} in {path}: add one to the matrix")

    def multipart(self, schema: dict[str, Any]) -> dict[str, Any]:
        """A body for a streamed upload, from its declared fields."""
        values = {
            "owner": "owner-1",
            "dossier_code": self.dossier,
            "agency_code": CENTRE,
            "kind": "ket-qua",
        }
        data = {}
        for name, field in schema.get("properties", {}).items():
            if field.get("format") == "binary":
                continue
            if name not in values:
                raise AssertionError(f"no value for the form field {name}: add one")
            data[name] = values[name]
        return {"data": data, "files": {"file": ("kết quả.pdf", PDF, "application/pdf")}}


@contextlib.asynccontextmanager
async def world(data_dir: Path) -> AsyncIterator[World]:
    async with embedded(data_dir) as platform:
        owner = platform.auth(
            Principal(subject="owner-1", username="001099000001", role=Role.CITIZEN)
        )
        filed = await submit(platform, owner)
        assert filed.status_code == 201, filed.text
        dossier = filed.json()["code"]
        document = filed.json()["documents"][0]["id"]
        here = World(platform, dossier, document)

        # The document's use by the dossier reaches the documents service by event.
        async def officer_reads() -> bool | None:
            path = f"/api/v1/documents/{document}"
            response = await platform.client.get(path, headers=here.headers("officer"))
            return True if response.status_code == 200 else None

        await eventually(officer_reads)
        yield here


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # the template, as the document has it
    grants: frozenset[Grant]
    values: dict[str, str]  # fixed path parameters (a value of ``by``)
    operation: dict[str, Any]

    @property
    def name(self) -> str:
        fixed = "".join(f" [{k}={v}]" for k, v in self.values.items())
        return f"{self.method.upper()} {self.path}{fixed}"


# Bodies for the scoped routes that require one (a rating is 1 to 5).
SAMPLES: dict[str, dict[str, Any]] = {"POST /api/v1/dossiers/{code}/rating": {"score": 5}}


def calls(document: dict[str, Any]) -> tuple[list[Call], list[str]]:
    """Every operation of the document (one call per value of a ``by`` parameter), and the
    operations that declare no access."""
    found: list[Call] = []
    undeclared: list[str] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            declared = operation.get(ACCESS)
            if not declared or not declared.get("allow"):
                undeclared.append(f"{method.upper()} {path}")
                continue
            grants = frozenset(Grant(g) for g in declared["allow"])
            refined = declared.get("by", {})
            if not refined:
                found.append(Call(method, path, grants, {}, operation))
            for parameter, values in refined.items():
                for value, value_grants in values.items():
                    narrowed = frozenset(Grant(g) for g in value_grants)
                    found.append(Call(method, path, narrowed, {parameter: value}, operation))
    found.sort(key=lambda call: call.method not in SAFE)  # stable: reads first
    return found, undeclared


async def request(here: World, call: Call, caller: str, *, missing: bool = False) -> httpx.Response:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in call.values:
            return call.values[name]
        return here.path_value(call.path, name, missing=missing)

    url = re.sub(r"\{(\w+)\}", value, call.path)
    kwargs: dict[str, Any] = {}
    body = call.operation.get("requestBody", {}).get("content", {})
    if "multipart/form-data" in body:
        kwargs = here.multipart(body["multipart/form-data"]["schema"])
    elif "application/json" in body:
        # An empty object: the role gate answers before the body is read, and no route
        # scoped to the caller's objects takes a required JSON body without a sample
        # here (checked below), which lets the body through to the scope's check.
        kwargs = {"json": SAMPLES.get(f"{call.method.upper()} {call.path}", {})}
    elif "application/x-www-form-urlencoded" in body:
        kwargs = {"data": {}}
    return await here.platform.client.request(
        call.method, url, headers=here.headers(caller), **kwargs
    )


def lets_in(grants: frozenset[Grant], caller: str) -> tuple[bool, bool]:
    """Whether ``grants`` let ``caller`` in, and whether only as owner or agency."""
    granting = {grant for grant in grants if caller in LETS_IN[grant]}
    return bool(granting), bool(granting) and granting <= SCOPED


@pytest.fixture
async def matrix_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    monkeypatch.setenv("GATEWAY_RATE_LIMITS_ENABLED", "false")  # ~500 calls in seconds
    async with world(tmp_path) as here:
        yield here


async def test_every_route_answers_every_caller_as_it_declares(matrix_world: World) -> None:
    here = matrix_world
    document = (await here.platform.client.get("/api/v1/openapi.json")).json()
    found, undeclared = calls(document)
    assert undeclared == [], f"routes that declare no access: {undeclared}"
    assert len(found) > 40
    wrong: list[str] = []
    for call in found:
        is_scoped = bool(SCOPED & call.grants)
        if is_scoped and "application/json" in call.operation.get("requestBody", {}).get(
            "content", {}
        ):
            required = call.operation["requestBody"].get("required", False)
            sampled = f"{call.method.upper()} {call.path}" in SAMPLES
            assert sampled or not required, (
                f"{call.name}: a scoped route with a JSON body needs a sample"
            )
        # The refused first: what they do must change nothing the allowed then see.
        for caller in sorted(CALLERS, key=lambda c: lets_in(call.grants, c)[0]):
            answer = await request(here, call, caller)
            status = answer.status_code
            allowed, only_scoped = lets_in(call.grants, caller)
            if allowed:
                refused = status in (401, 403) or status >= 500 or (only_scoped and status == 404)
                if refused:
                    wrong.append(f"{call.name} as {caller}: {status} {answer.text[:200]}")
                continue
            expected: tuple[int, ...] = (401,) if caller == "anonymous" else (403, 404)
            if Grant.SIGNED in call.grants:
                expected = tuple(range(400, 500))  # unsigned: refused, however it is said
            if status not in expected:
                wrong.append(f"{call.name} as {caller}: {status}, expected one of {expected}")
                continue
            scoped_out = [g for g in call.grants if SCOPED_OUT.get(g) == caller]
            if scoped_out and re.search(r"\{(code|document_id|agency_code)\}", call.path):
                absent = await request(here, call, caller, missing=True)
                if absent.status_code != status:
                    wrong.append(
                        f"{call.name} as {caller}: {status} for another's object, "
                        f"{absent.status_code} for none: existence leaks"
                    )
    assert wrong == [], "\n".join(wrong)


def test_a_route_that_declares_nothing_is_reported() -> None:
    document = {
        "paths": {
            "/api/v1/a": {"get": {ACCESS: {"allow": ["public"]}}},
            "/api/v1/b": {"post": {"summary": "no declaration"}},
        }
    }
    found, undeclared = calls(document)
    assert [call.name for call in found] == ["GET /api/v1/a"]
    assert undeclared == ["POST /api/v1/b"]


def test_the_matrix_tells_letting_in_from_scoping() -> None:
    own_or_agency = frozenset({Grant.OWN, Grant.AGENCY})
    assert lets_in(own_or_agency, "owner") == (True, True)
    assert lets_in(own_or_agency, "other_citizen") == (False, False)
    assert lets_in(frozenset({Grant.CITIZEN, Grant.OFFICER}), "other_officer") == (True, False)
    assert lets_in(frozenset({Grant.SIGNED}), "admin") == (False, False)
