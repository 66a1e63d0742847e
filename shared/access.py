"""Who may call a route, declared on the route itself and published in the OpenAPI
document as ``x-access`` (DESIGN §11).

The declaration enforces the role part itself (a dependency, before the body is
read); scoping to the caller's own objects is the route's look-ups (404 for others').
``tests/gateway/test_access.py`` calls every route of the public document as every
kind of caller and holds the answers to the declaration. A route without one fails.

    @router.get("/dossiers/{code}", **allow(Grant.OWN, Grant.AGENCY))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from fastapi import Depends

from shared.auth import Role, require_role

ACCESS = "x-access"


class Grant(StrEnum):
    PUBLIC = "public"  # anyone, without logging in
    # No login: a signature carried by the request is the credential (a payment
    # provider's notice). Every caller without one is refused.
    SIGNED = "signed"
    CITIZEN = "citizen"  # any citizen (what they get is their own: their wallet)
    OWN = "citizen:own"  # the citizen the object belongs to; 404 for other citizens
    OFFICER = "officer"  # any officer (what they see is their agencies')
    AGENCY = "officer:agency"  # an officer of the object's agency; others as if absent
    ADMIN = "admin"


SIGNED_IN = (Grant.CITIZEN, Grant.OFFICER, Grant.ADMIN)
ROLE_OF = {
    Grant.CITIZEN: Role.CITIZEN,
    Grant.OWN: Role.CITIZEN,
    Grant.OFFICER: Role.OFFICER,
    Grant.AGENCY: Role.OFFICER,
    Grant.ADMIN: Role.ADMIN,
}


def allow(
    *grants: Grant,
    by: Mapping[str, Mapping[str, Iterable[Grant]]] | None = None,
    openapi_extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Keyword arguments of a route decorator that let ``grants`` in: the declaration
    (``x-access`` in ``openapi_extra``) and, unless the route is public or signed, a
    dependency refusing any other role (401 without a login, 403 with another role)
    before the request's body is read. Scoping to the caller's own objects is the
    route's. ``by`` narrows ``grants`` for the values of one path parameter
    (``{"action": {"receive": [Grant.AGENCY], ...}}``), for routes whose handler does."""
    if not grants:
        raise ValueError("a route grants access to someone")
    declared: dict[str, Any] = {"allow": [Grant(g).value for g in grants]}
    if by:
        refined: dict[str, dict[str, list[str]]] = {}
        for parameter, values in by.items():
            refined[parameter] = {}
            for value, value_grants in values.items():
                listed = [Grant(g).value for g in value_grants]
                if not set(listed) <= set(declared["allow"]):
                    raise ValueError(f"{parameter}={value}: {listed} exceeds {declared['allow']}")
                refined[parameter][value] = listed
        declared["by"] = refined
    gated = not {Grant.PUBLIC, Grant.SIGNED} & set(grants)
    roles = sorted({ROLE_OF[g] for g in grants if g in ROLE_OF})
    return {
        "openapi_extra": {**(openapi_extra or {}), ACCESS: declared},
        "dependencies": [Depends(require_role(*roles))] if gated else [],
    }
