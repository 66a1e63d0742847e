"""One OpenAPI document for the whole public API (``/api/v1``): the gateway's own routes
and each service's, as the services describe themselves (their ``/openapi.json``).

Two services may name different schemas alike; the later one's is then renamed
``<service>.<name>`` and its references follow, so no definition hides another.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from services.gateway import outcomes

logger = logging.getLogger("onestop.gateway.openapi")

API_PREFIX = "/api/v1"
REF = "#/components/schemas/"


def merge(own: dict[str, Any], services: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """``own`` (the gateway's document) with every service's ``/api/v1`` paths."""
    merged: dict[str, Any] = {
        "openapi": own.get("openapi", "3.1.0"),
        "info": {**own.get("info", {}), "title": "Một cửa — API công khai (/api/v1)"},
        "paths": {},
        "components": {"schemas": {}},
    }
    for name, document in {"gateway": own, **services}.items():
        schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
        renames = {}
        for schema_name, definition in schemas.items():
            held = merged["components"]["schemas"].get(schema_name)
            if held is not None and held != definition:
                renames[schema_name] = f"{name}.{schema_name}"
        document = _renamed(document, renames) if renames else document
        for schema_name, definition in document.get("components", {}).get("schemas", {}).items():
            merged["components"]["schemas"].setdefault(schema_name, definition)
        for path, operations in document.get("paths", {}).items():
            if path.startswith(API_PREFIX):
                merged["paths"].setdefault(path, {}).update(operations)
    merged["paths"] = dict(sorted(merged["paths"].items()))
    return outcomes.declare(merged)


def _renamed(document: dict[str, Any], renames: Mapping[str, str]) -> dict[str, Any]:
    """A copy of ``document`` with the schemas of ``renames`` and references to them
    renamed."""
    copied: dict[str, Any] = _references_renamed(document, renames)
    schemas = copied.get("components", {}).get("schemas", {})
    copied["components"]["schemas"] = {renames.get(k, k): v for k, v in schemas.items()}
    return copied


def _references_renamed(node: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        copied: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(REF):
                name = value[len(REF) :]
                copied[key] = REF + renames.get(name, name)
            else:
                copied[key] = _references_renamed(value, renames)
        return copied
    if isinstance(node, list):
        return [_references_renamed(item, renames) for item in node]
    return node


async def service_documents(clients: Mapping[str, httpx.AsyncClient]) -> dict[str, Any]:
    """Each service's own document; a service that does not answer is left out (and
    logged), so that the others' stay readable."""
    documents: dict[str, Any] = {}
    for name, client in clients.items():
        try:
            response = await client.get("/openapi.json", timeout=5)
            response.raise_for_status()
            documents[name] = response.json()
        except (httpx.HTTPError, ValueError):
            logger.warning("no OpenAPI document from a service", extra={"service": name})
    return documents


router = APIRouter(include_in_schema=False)


@router.get("/api/v1/openapi.json")
async def public_document(request: Request) -> JSONResponse:
    """The aggregated document; kept once every service has answered."""
    kept: dict[str, Any] | None = getattr(request.app.state, "openapi_document", None)
    if kept is not None:
        return JSONResponse(kept)
    upstreams = request.app.state.upstreams
    clients = {name: u.client for name, u in upstreams.items() if name in SERVICES}
    documents = await service_documents(clients)
    merged = merge(request.app.openapi(), documents)
    if len(documents) == len(clients):
        request.app.state.openapi_document = merged
    return JSONResponse(merged)


@router.get("/docs")
async def public_docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/api/v1/openapi.json", title="Một cửa — API")


# The services behind /api/v1 (the portal mock has its own API, not the platform's).
SERVICES = ("procedures", "intake", "tracking", "documents", "notifications")
