"""What every operation of the public document can answer besides success, and who
may call it: so that a client generated from the document knows each problem it will
meet (RFC 9457 problem details, ``application/problem+json``) and which calls need a
bearer token.

Derived, not written by hand per route, from what the platform does to every call:
- the gateway may answer 401 (a logged-out token), 429 (rate limits) and 503 (a service
  or Redis down) anywhere;
- a route that is not public may answer 403 (another role, a signature that does not
  verify); one that needs a login (``x-access`` other than public or signed) says it
  takes a bearer token, a signed or public one says it takes none;
- a route with path parameters may answer 404 (scoped objects answer 404 to others);
- a route with a body may answer 400 (it does not parse), 413 (the caps by kind of
  route) and 422 (validation), and an upload 415 (the type read from the bytes);
- a route that changes something may answer 409 (a state that does not allow it).
A status a route already declares keeps its own description; its content becomes the
problem document where FastAPI described its own validation error.
"""

from __future__ import annotations

from typing import Any

from shared.access import ACCESS, Grant
from shared.errors import PROBLEM_MEDIA_TYPE, STATUS_TITLES

PROBLEM_REF = "#/components/schemas/Problem"
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; titles are Vietnamese.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "location": {"type": "string"},
                    "pointer": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}
BEARER = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
OPEN = {Grant.PUBLIC.value, Grant.SIGNED.value}
CHANGING = {"post", "put", "patch", "delete"}
METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}


def statuses(method: str, operation: dict[str, Any]) -> set[int]:
    """The problem statuses ``operation`` can answer."""
    # 401 anywhere: the gateway refuses a logged-out token whatever the route.
    found = {401, 429, 503}
    allowed = set(operation.get(ACCESS, {}).get("allow", []))
    if allowed != {Grant.PUBLIC.value}:
        found.add(403)  # another role, or a signature that does not verify
    parameters = operation.get("parameters", [])
    if any(p.get("in") == "path" for p in parameters):
        found.add(404)
    if parameters:
        found.add(422)
    body = operation.get("requestBody")
    if body is not None:
        found |= {400, 413, 422}  # 400: a body that does not parse
        if "multipart/form-data" in body.get("content", {}):
            found.add(415)
    if method in CHANGING:
        found.add(409)
    return found


def declare(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every operation's problem statuses and security declared."""
    components = document.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    components.setdefault("securitySchemes", {})["bearer"] = BEARER
    problem = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}}
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            allowed = set(operation.get(ACCESS, {}).get("allow", []))
            operation["security"] = [] if allowed and allowed <= OPEN else [{"bearer": []}]
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses(method, operation)):
                declared = responses.get(str(status))
                if declared is None:
                    responses[str(status)] = {
                        "description": STATUS_TITLES.get(status, str(status)),
                        "content": problem,
                    }
                elif status == 422 or "content" not in declared:
                    # FastAPI's own 422 says application/json; ours is a problem.
                    declared["content"] = problem
    return document
