"""Events about documents: documents publishes them; intake keeps the facts a submission
checks, so that filing a dossier does not ask documents about every file again.

A document's owner, kind and type never change once it is ready, and a ready document
is never taken away, so a copy of these facts cannot go stale. A copy can lag: intake
asks documents about any document it has not heard of yet.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

DOCUMENT_TOPIC = "document"


class DocumentEvent(StrEnum):
    READY = "document.ready"  # checked, stored and usable: DocumentReady


class DocumentReady(BaseModel):
    """A usable document. The envelope's ``subject`` is its id."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    owner: str  # the citizen's subject (a result belongs to the dossier's citizen)
    kind: str  # upload | result
    content_type: str  # decided from the bytes
    uses: int = 0  # dossiers already using it: a result is used by the dossier it answers
