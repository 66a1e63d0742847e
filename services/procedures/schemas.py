from pydantic import BaseModel, ConfigDict

from services.procedures.models import AgencyLevel


class AgencyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    level: AgencyLevel
    parent_code: str | None
    address: str | None


class AgencySeed(BaseModel):
    """An agency as the seed file describes it."""

    code: str
    name: str
    level: AgencyLevel
    parent_code: str | None = None
    address: str | None = None
    code_confirmed: bool = False
