from typing import ClassVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import InsecureSettingsError, ServiceSettings

# The national portal mock's demo credential (services/national_portal/config.py).
DEMO_PORTAL_SECRET = "onestop-portal-demo-secret-change-me"

# The services the gateway forwards to (and reports in /api/v1/health).
UPSTREAM_NAMES = (
    "procedures", "intake", "tracking", "documents", "notifications", "national_portal",
)  # fmt: skip


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")
    service_name: ClassVar[str] = "gateway"

    # Base URLs of the services in distributed mode (embedded mode calls them in-process).
    procedures_url: str | None = None
    intake_url: str | None = None
    tracking_url: str | None = None
    documents_url: str | None = None
    notifications_url: str | None = None
    national_portal_url: str | None = None
    upstream_connect_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    upstream_read_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    upstream_max_connections: int = Field(default=200, ge=1, le=10_000)
    # Request bodies forwarded to the services, by kind of route (main.BodyCaps): files,
    # an admin's catalogue import, and every other (JSON or form) body.
    max_body_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    max_bulk_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    max_json_body_bytes: int = Field(default=256 * 1024, ge=1024)
    own_max_body_bytes: int = Field(default=64 * 1024, ge=1024)  # its own routes (logins)

    # A login lasts this long without a new password (each refresh renews the tokens).
    refresh_token_ttl_seconds: int = Field(default=7 * 86_400, ge=300)

    # Rate limits (services/gateway/limits.py): calls sustained per minute, and at once.
    rate_limits_enabled: bool = True
    rate_caller_per_minute: int = Field(default=600, ge=1)
    rate_caller_burst: int = Field(default=120, ge=1)
    rate_address_per_minute: int = Field(default=6000, ge=1)  # a desk's office shares one
    rate_address_burst: int = Field(default=600, ge=1)
    rate_lookup_per_minute: int = Field(default=30, ge=1)
    rate_lookup_burst: int = Field(default=10, ge=1)
    rate_login_per_minute: int = Field(default=10, ge=1)
    rate_login_burst: int = Field(default=10, ge=1)
    # Failed logins of one account from one address: this many at once, then one more
    # per 3 minutes; past the long burst, one an hour.
    login_failures_burst: int = Field(default=5, ge=1)
    login_failure_interval_seconds: float = Field(default=180.0, gt=0)
    login_failures_long_burst: int = Field(default=20, ge=1)
    login_failure_long_interval_seconds: float = Field(default=3600.0, gt=0)
    # Proxies in front of the gateway whose X-Forwarded-For to trust (0: none).
    trusted_proxies: int = Field(default=0, ge=0, le=5)

    # The sync to the national portal (DESIGN §8): the credentials the portal issued the
    # platform, and how hard to try. Embedded, it reaches the mock in-process.
    portal_sync_enabled: bool = True
    portal_client_id: str = "onestop"
    portal_client_secret: SecretStr = SecretStr(DEMO_PORTAL_SECRET)
    portal_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    portal_sync_concurrency: int = Field(default=16, ge=1, le=256)
    portal_sync_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    # A claimed dossier is someone else's to take after this long (a crashed worker's).
    portal_sync_lease_seconds: float = Field(default=120.0, gt=0)
    portal_retry_base_seconds: float = Field(default=1.0, gt=0)
    portal_retry_cap_seconds: float = Field(default=300.0, gt=0)
    # Attempts in a row that get nothing acknowledged before a dossier is dead-lettered:
    # with the defaults, about half an hour of the portal failing every call.
    portal_retry_budget: int = Field(default=12, ge=1, le=1000)

    # Where browsers reach the platform in distributed mode (the VNeID provider sends
    # them back here); embedded, wherever they reached it.
    public_url: str = "http://127.0.0.1:8000"
    # Login with the national digital identity (services/gateway/vneid.py): the client
    # id the provider knows the platform by, its issuer name, the page browsers are sent
    # to (default: the mock the embedded platform serves at /dvcqg) and its key set
    # (default: the mock's, through the national_portal upstream).
    vneid_client_id: str = "onestop"
    vneid_issuer: str = "vneid-mock"
    vneid_authorize_url: str | None = None
    vneid_jwks_url: str = "/vneid/jwks.json"

    @model_validator(mode="after")
    def _require_upstreams_when_distributed(self) -> "GatewaySettings":
        self.require_urls_when_distributed(UPSTREAM_NAMES)
        if (
            self.platform.is_production
            and self.portal_sync_enabled
            and self.portal_client_secret.get_secret_value() == DEMO_PORTAL_SECRET
        ):
            raise InsecureSettingsError(
                "GATEWAY_PORTAL_CLIENT_SECRET must be the secret the portal issued in production"
            )
        return self

    def upstream_url(self, name: str) -> str | None:
        value: str | None = getattr(self, f"{name}_url")
        return value
