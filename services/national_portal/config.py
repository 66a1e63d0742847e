from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class NationalPortalSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PORTAL_", extra="ignore")
    service_name: ClassVar[str] = "national_portal"
    uses_events: ClassVar[bool] = False

    # The one client the mock knows (the platform's sync), as the real portal issues
    # each connected system its credentials.
    client_id: str = "onestop"
    client_secret: SecretStr = SecretStr("onestop-portal-demo-secret-change-me")
    token_seconds: int = Field(default=3600, ge=60)
    # Faults to inject from the start (an admin call changes them while running).
    fail_share: float = Field(default=0.0, ge=0.0, le=1.0)
    timeout_share: float = Field(default=0.0, ge=0.0, le=1.0)
    drop_share: float = Field(default=0.0, ge=0.0, le=1.0)
    delay_ms: int = Field(default=0, ge=0, le=60_000)
    # How long a "time-out" holds the call before failing it.
    timeout_seconds: float = Field(default=30.0, gt=0.0)
    fault_seed: int | None = None  # a fixed seed makes the injected faults repeatable
    # The VNeID mock's RSA signing key (PEM); without one it makes a key when it starts.
    vneid_private_key: SecretStr | None = None
