"""Agencies across services: the events about them (the procedures service owns them,
the others keep what they need), and their officers as the gateway's accounts hold them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from shared.auth import Position

AGENCY_UPSERTED = "agency.upserted"


class AgencyUpserted(BaseModel):
    """An agency was added or changed. Tracking resolves ``calendar_code`` to a calendar."""

    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    level: str
    parent_code: str | None
    calendar_code: str


class AgencyOfficer(BaseModel):
    """An active officer of an agency (``GET /api/v1/agencies/{code}/officers``, the
    gateway's): whom a dossier can be assigned to (``id`` is the ``assignee``)."""

    id: str
    username: str
    full_name: str
    position: Position
    position_label: str


class CitizenAccount(BaseModel):
    """A citizen's account found by their ID number (``GET /api/v1/citizens``, the
    gateway's): what a counter dossier is linked to (``id`` is ``applicant_account``)."""

    id: str
    full_name: str
