from typing import ClassVar

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

# The services the gateway forwards to (and reports in /api/v1/health).
UPSTREAM_NAMES = ("procedures", "intake", "tracking", "documents", "national_portal")


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")
    service_name: ClassVar[str] = "gateway"

    # Base URLs of the services in distributed mode (embedded mode calls them in-process).
    procedures_url: str | None = None
    intake_url: str | None = None
    tracking_url: str | None = None
    documents_url: str | None = None
    national_portal_url: str | None = None
    upstream_connect_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    upstream_read_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    upstream_max_connections: int = Field(default=200, ge=1, le=10_000)
    max_body_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)

    @model_validator(mode="after")
    def _require_upstreams_when_distributed(self) -> "GatewaySettings":
        self.require_urls_when_distributed(UPSTREAM_NAMES)
        return self

    def upstream_url(self, name: str) -> str | None:
        value: str | None = getattr(self, f"{name}_url")
        return value
