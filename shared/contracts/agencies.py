"""Events about agencies: the procedures service owns them, the others keep what they need."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

AGENCY_UPSERTED = "agency.upserted"


class AgencyUpserted(BaseModel):
    """An agency was added or changed. Tracking resolves ``calendar_code`` to a calendar."""

    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    level: str
    parent_code: str | None
    calendar_code: str
