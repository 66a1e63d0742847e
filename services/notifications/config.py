from typing import ClassVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import InsecureSettingsError, ServiceSettings

# The SMS provider mock's demo key (services/sms_mock).
DEMO_SMS_KEY = "onestop-sms-demo-key-change-me"


class NotificationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore")
    service_name: ClassVar[str] = "notifications"

    # Where citizens reach the platform: the links in messages (lookup, unsubscribe).
    public_url: str = "http://127.0.0.1:8000"

    # E-mail. Without a host, messages are written as .eml files under the data
    # directory's mail/ (the embedded mode's mail catcher) instead of being sent.
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # "starttls" upgrades a plain connection (port 587); "tls" is TLS from the start (465).
    smtp_security: str = Field(default="none", pattern="^(none|starttls|tls)$")
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # The name the platform gives itself in HELO/EHLO (default: this host's).
    smtp_helo_name: str | None = None
    mail_from: str = "Bộ phận Một cửa <no-reply@onestop.local>"

    # SMS and Zalo, through one provider over HTTP (the mock's API, services/sms_mock).
    # Without a URL (and no in-process mock), they are written to the data directory.
    sms_url: str | None = None
    sms_api_key: SecretStr = SecretStr(DEMO_SMS_KEY)
    sms_sender: str = "MOTCUA"  # the brand name the provider registered
    sms_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    # No SMS or Zalo message between these local hours (21:00 to 07:00): it waits.
    quiet_from_hour: int = Field(default=21, ge=0, le=23)
    quiet_until_hour: int = Field(default=7, ge=0, le=23)
    # The leaders' digest of an agency's due-soon and overdue dossiers, each working day
    # from this local hour.
    digest_hour: int = Field(default=7, ge=0, le=23)

    # Delivery: messages sent at once, how often to look when none is due, how long a
    # claimed message is the claimer's, and how hard to try before dead-lettering.
    delivery_concurrency: int = Field(default=16, ge=1, le=256)
    delivery_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    delivery_lease_seconds: float = Field(default=120.0, gt=0)
    retry_base_seconds: float = Field(default=2.0, gt=0)
    retry_cap_seconds: float = Field(default=300.0, gt=0)
    # Failed attempts before a message is dead-lettered: with the defaults about an
    # hour and a half of a provider failing every call.
    retry_budget: int = Field(default=24, ge=1, le=1000)

    # A verification code: how long it holds, and how many wrong tries end it.
    code_ttl_seconds: int = Field(default=900, ge=60, le=86_400)
    code_attempts: int = Field(default=5, ge=1, le=20)

    @model_validator(mode="after")
    def _refuse_demo_key_in_production(self) -> "NotificationsSettings":
        if (
            self.platform.is_production
            and self.sms_url is not None
            and self.sms_api_key.get_secret_value() == DEMO_SMS_KEY
        ):
            raise InsecureSettingsError(
                "NOTIFICATIONS_SMS_API_KEY must be the key the SMS provider issued in production"
            )
        if self.platform.is_production and self.smtp_host is None:
            # Else e-mails would be written to files in the data folder that no one reads.
            raise ValueError("NOTIFICATIONS_SMTP_HOST (the mail relay) is required in production")
        return self
