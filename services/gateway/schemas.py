import re

from pydantic import BaseModel, Field, model_validator

from shared.auth import AgencyMembership, Role

CITIZEN_ID = re.compile(r"^\d{12}$")


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class MeResponse(BaseModel):
    id: str
    username: str
    role: Role
    agencies: list[AgencyMembership]


class AccountSeed(BaseModel):
    """An account to create: citizens by ID number, officers with their agencies."""

    username: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=8, max_length=128)
    full_name: str = Field(min_length=1, max_length=200)
    role: Role
    memberships: list[AgencyMembership] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_role_rules(self) -> "AccountSeed":
        if self.role is Role.CITIZEN and not CITIZEN_ID.match(self.username):
            raise ValueError(
                "a citizen's username is their 12-digit personal identification number"
            )
        if self.role is Role.OFFICER and not self.memberships:
            raise ValueError("an officer belongs to at least one agency")
        if self.role is not Role.OFFICER and self.memberships:
            raise ValueError("only officers have agency memberships")
        return self
