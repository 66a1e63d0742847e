from typing import ClassVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import InsecureSettingsError, ServiceSettings

# The services intake reads from (DESIGN §3): the catalogue, calendars, documents, and
# the gateway's accounts (an agency's officers, whom a dossier may be assigned to).
UPSTREAMS = ("procedures", "tracking", "documents", "accounts")
DEVELOPMENT_PAYMENT_SECRET = "development-payment-secret-change-me"


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")
    service_name: ClassVar[str] = "intake"

    # Base URLs in distributed mode; embedded mode calls the services in-process.
    procedures_url: str | None = None
    tracking_url: str | None = None
    documents_url: str | None = None
    # The gateway, where the accounts are (its internal address, e.g. http://gateway:8000).
    accounts_url: str | None = None
    # Where citizens look a dossier up (printed as a QR code on slips).
    public_url: str = "http://127.0.0.1:8000"
    # An Idempotency-Key is kept at least this long (payment APIs keep 24 hours).
    idempotency_hours: int = Field(default=24, ge=24, le=24 * 30)
    # A submission still running after this long is taken to have died with its process.
    idempotency_lease_seconds: int = Field(default=30, ge=5, le=600)
    # Shared with the payment provider: its callbacks are signed with it (HMAC-SHA256).
    payment_secret: SecretStr = SecretStr(DEVELOPMENT_PAYMENT_SECRET)
    # "Due soon": at most this much working time left (one working day).
    due_soon_minutes: int = Field(default=480, ge=1, le=10 * 480)

    @model_validator(mode="after")
    def _require_upstreams_when_distributed(self) -> "IntakeSettings":
        self.require_urls_when_distributed(UPSTREAMS)
        secret = self.payment_secret.get_secret_value()
        if self.platform.is_production and (
            secret == DEVELOPMENT_PAYMENT_SECRET or len(secret) < 32
        ):
            raise InsecureSettingsError("INTAKE_PAYMENT_SECRET must be set (32+ characters)")
        return self

    def upstream_urls(self) -> dict[str, str]:
        """Each upstream's base URL; in-process ones get a placeholder host."""
        return {name: getattr(self, f"{name}_url") or f"http://{name}" for name in UPSTREAMS}
