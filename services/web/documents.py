"""The citizen's documents through the API: their wallet, and a file put into it."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile

from services.web.visit import Visit


async def wallet(visit: Visit) -> list[dict[str, Any]]:
    """The caller's documents (the API lists the ready ones), newest first."""
    documents: list[dict[str, Any]] = await visit.get("/api/v1/documents", signed=True)
    return documents


async def store(visit: Visit, file: UploadFile, *, kind: str | None = None) -> str:
    """``file`` into the caller's wallet (the API checks it as it streams); its id."""
    sent = (file.filename or "tep", await file.read(), file.content_type or "")
    stored = await visit.send("POST", "/api/v1/documents", files={"file": sent},
                              data={"kind": kind} if kind else None)  # fmt: skip
    return str(stored["id"])
