import hashlib
import hmac

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import PlatformSettings, Settings


class WebSettings(Settings):
    """The pages' settings (``WEB_*``). They keep no data: what they show is the API's."""

    model_config = SettingsConfigDict(env_prefix="WEB_", extra="ignore")

    platform: PlatformSettings = Field(default_factory=PlatformSettings)
    # Keys the forms' CSRF tokens; by default derived from ONESTOP_JWT_SECRET, which
    # production already requires to be a real secret.
    csrf_secret: SecretStr | None = None
    # A page gives up on the API after this long (the gateway's own limits still hold).
    api_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    # Ten a page, as the national portal lists procedures.
    page_size: int = Field(default=10, ge=5, le=100)
    # Lists that change only with the catalogue (fields, agencies) are read again after
    # this long; a page never shows them older.
    reference_ttl_seconds: float = Field(default=60.0, ge=0, le=3600)

    @property
    def cookie_secure(self) -> bool:
        """Cookies only over HTTPS in production (development runs on plain HTTP)."""
        return self.platform.is_production

    def csrf_key(self) -> bytes:
        if self.csrf_secret is not None:
            return self.csrf_secret.get_secret_value().encode()
        secret = self.platform.jwt_secret.get_secret_value().encode()
        return hmac.new(secret, b"onestop-web-csrf", hashlib.sha256).digest()
