import re
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from shared.auth import AgencyMembership, Role

CITIZEN_ID = re.compile(r"^\d{12}$")


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    # Trade it at /api/v1/auth/refresh for new tokens (once: it is then used up).
    refresh_token: str | None = None


class PasswordLogin(BaseModel):
    """The OAuth 2 password grant (RFC 6749 §4.3.2), sent as a form. Other fields an OAuth
    client adds (``scope``, ``client_id``) are ignored."""

    grant_type: Literal["password"] = "password"
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=128)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=20, max_length=200)


class Registration(BaseModel):
    """A citizen signs up with their personal identification number."""

    # The shape here; the province code, century and year of birth are checked on
    # registration (services/gateway/identity.py), a 422 naming what is wrong.
    id_number: str = Field(description="12 chữ số", pattern=CITIZEN_ID.pattern)
    full_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=8, max_length=128)


class Registered(BaseModel):
    id: str
    username: str
    identity_verified: bool


class MeResponse(BaseModel):
    id: str
    username: str
    role: Role
    agencies: list[AgencyMembership]
    identity_verified: bool  # by the national digital identity (VNeID)


class VerifiedLogin(TokenResponse):
    """A login through VNeID: the tokens, and the account it vouched for."""

    username: str
    identity_verified: bool


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


class LagFigures(BaseModel):
    """Seconds from a change of a dossier to the portal's acknowledgement."""

    count: int
    p50: float | None
    p95: float | None
    max: float | None


class SyncStatus(BaseModel):
    """The national portal sync at a glance (the sync-lag metric is ``lag_seconds``)."""

    owed: int  # dossiers with a change the portal has not acknowledged yet
    dead_letters: int
    synced: int  # dossiers the portal holds as they are
    oldest_owed_since: AwareDatetime | None
    lag_seconds: float  # how long the oldest change has waited (0 when none waits)
    recent: LagFigures  # the syncs of the last hour


class DeadLetter(BaseModel):
    code: str
    reason: str | None
    dead_at: AwareDatetime | None
    attempts: int
    sent_version: int
    sent_steps: int


OFFICER_USERNAME = r"^[a-z][a-z0-9._-]{2,63}$"


class OfficerIn(BaseModel):
    """An officer account an admin creates: it gets a one-time password."""

    username: str = Field(pattern=OFFICER_USERNAME, description="chữ thường, số, . _ -")
    full_name: str = Field(min_length=1, max_length=200)
    memberships: list[AgencyMembership] = Field(min_length=1, max_length=50)


class MembershipsIn(BaseModel):
    memberships: list[AgencyMembership] = Field(max_length=50)


class AdminOfficer(BaseModel):
    id: str
    username: str
    full_name: str
    is_active: bool
    password_must_change: bool
    memberships: list[AgencyMembership]
    created_at: AwareDatetime | None


class IssuedPassword(BaseModel):
    """A one-time password, shown once: its owner sets their own before anything else."""

    officer: AdminOfficer
    one_time_password: str


class AccountEventOut(BaseModel):
    kind: str
    at: AwareDatetime
    detail: dict[str, object]


class PasswordChange(BaseModel):
    """An account's owner sets a new password, proving the current one (a one-time
    password an admin gave, too)."""

    username: str = Field(min_length=1, max_length=100)
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=10, max_length=128)
