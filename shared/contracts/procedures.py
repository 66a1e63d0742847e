"""What intake reads of the catalogue (``GET /api/v1/procedures/{code}``, ``/agencies``).

A subset of the procedures service's answers: the fields intake relies on to accept a
dossier. Unknown fields are ignored, so the catalogue may grow without breaking intake.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.dossiers import TimeLimit


class RequiredDocumentFacts(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    kind: str = "unspecified"
    count: int = 1
    required: bool = True
    office: bool = False  # DOCX and XLSX accepted for it too


class FeeFacts(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    amount_vnd: int | None
    unit: str | None = None
    channel: Literal["any", "online", "counter"] = "any"
    collected: Literal["on_submission", "on_result"] = "on_submission"
    condition: str | None = None


class ProcedureFacts(BaseModel):
    """The version of a procedure in force."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    code: str
    name: str
    version: int
    field_code: str
    level: str  # the level of government that decides it: province, commune...
    online_level: Literal["full", "partial", "none"]
    processing_time: TimeLimit | None
    required_documents: list[RequiredDocumentFacts] = Field(default_factory=list)
    fees: list[FeeFacts] = Field(default_factory=list)
    result_documents: list[str] = Field(default_factory=list)
    eform_schema: dict[str, Any] | None = None
    supplement_policy: Literal["pause", "restart"] = "pause"
    offered_by: list[str] = Field(default_factory=list)  # agencies whose desks offer it


class AgencyFacts(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    code: str
    name: str
    level: str
    parent_code: str | None
    calendar_code: str
