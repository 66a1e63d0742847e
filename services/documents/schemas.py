import uuid

from pydantic import AwareDatetime, BaseModel, Field

from services.documents.models import DocumentKind, DocumentStatus


class DocumentOut(BaseModel):
    id: uuid.UUID
    kind: DocumentKind
    label: str | None
    status: DocumentStatus
    name: str  # the original file name, cleaned
    size: int
    content_type: str  # decided from the bytes
    sha256: str | None
    created_at: AwareDatetime
    issued_by: str | None  # the agency, for a result
    owner: str  # the account it belongs to (the citizen's, for a result too)
    uses: int  # how many dossiers used it: reuse counts in the national index


class DownloadOut(BaseModel):
    url: str
    expires_at: AwareDatetime


class DirectUploadRequest(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: str | None = Field(default=None, max_length=100)


class DirectUploadOut(BaseModel):
    """Where the browser posts the file (a form with ``fields`` then ``file``)."""

    id: uuid.UUID
    url: str
    fields: dict[str, str]
    max_bytes: int
    expires_at: AwareDatetime
