import uuid
from typing import Annotated

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
    # Those dossiers' codes, in the owner's wallet (elsewhere: not listed).
    dossiers: list[str] = Field(default_factory=list)


class AccessOut(BaseModel):
    """An officer took a link to one of the citizen's documents (by position, agency)."""

    document_id: uuid.UUID
    document_name: str
    at: AwareDatetime
    agency_code: str | None
    position: str | None


class DownloadOut(BaseModel):
    url: str
    expires_at: AwareDatetime


# What kind of paper a document is, as a short code ("giay-chung-sinh", "ket-qua"):
# lower-case words joined by hyphens, starting with a letter (its column holds 100).
LABEL_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
Label = Annotated[str, Field(max_length=100, pattern=LABEL_PATTERN, description="loại giấy tờ")]
# In a form, blank too: a browser sends an empty input, which means "not given".
FormLabel = Annotated[
    str,
    Field(max_length=100, pattern=f"^({LABEL_PATTERN[1:-1]})?$", description="loại giấy tờ"),
]


class UploadFields(BaseModel):
    """The text fields of a citizen's upload, beside its ``file`` (multipart)."""

    kind: FormLabel | None = None


class ResultFields(BaseModel):
    """The text fields of a result an officer issues, beside its ``file`` (multipart)."""

    # The citizen's account; none for a walk-in without one: the officer who issues it
    # holds it (the dossier's agencies read it, the desk prints it).
    owner: str | None = Field(
        default=None, min_length=1, max_length=64, description="the citizen's subject"
    )
    dossier_code: str = Field(min_length=1, max_length=60, description="the dossier it resolves")
    agency_code: str = Field(min_length=1, max_length=30, description="the issuing agency")
    kind: FormLabel = "ket-qua"


class ScanFields(BaseModel):
    """The text fields of a paper document a desk officer digitised, beside its ``file``."""

    agency_code: str = Field(min_length=1, max_length=30, description="the officer's desk")
    kind: FormLabel | None = None


class DirectUploadRequest(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: Label | None = None


class DirectUploadOut(BaseModel):
    """Where the browser posts the file (a form with ``fields`` then ``file``)."""

    id: uuid.UUID
    url: str
    fields: dict[str, str]
    max_bytes: int
    expires_at: AwareDatetime
