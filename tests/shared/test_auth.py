"""Tokens (issuer, audience, expiry, algorithm allow-list) and password hashing."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from shared.auth import AgencyMembership, PasswordHasher, Position, Principal, Role, TokenService
from shared.errors import Unauthorized

SECRET = "s" * 64  # long enough for HS512 too


def tokens(**overrides: object) -> TokenService:
    options: dict[str, object] = {
        "secret": SECRET,
        "issuer": "onestop",
        "audience": "onestop-api",
        "algorithms": ["HS256"],
        "ttl": timedelta(minutes=15),
    }
    options.update(overrides)
    return TokenService(**options)  # type: ignore[arg-type]


OFFICER = Principal(
    subject="7b0c",
    username="canbo1",
    role=Role.OFFICER,
    agencies=(AgencyMembership(agency_code="000.00.15.H49", position=Position.DESK),),
)


class TestTokens:
    def test_a_token_carries_the_principal_back(self) -> None:
        service = tokens()
        assert service.verify(service.issue(OFFICER)) == OFFICER

    def test_an_expired_token_is_refused(self) -> None:
        service = tokens()
        token = service.issue(OFFICER, now=datetime.now(UTC) - timedelta(hours=1))
        with pytest.raises(Unauthorized, match="hết hạn"):
            service.verify(token)

    @pytest.mark.parametrize(
        "other",
        [{"audience": "another-api"}, {"issuer": "someone-else"}, {"secret": "t" * 48}],
        ids=["audience", "issuer", "key"],
    )
    def test_a_token_for_another_audience_issuer_or_key_is_refused(
        self, other: dict[str, object]
    ) -> None:
        with pytest.raises(Unauthorized):
            tokens().verify(tokens(**other).issue(OFFICER))

    def test_an_unsigned_alg_none_token_is_refused(self) -> None:
        claims = jwt.decode(tokens().issue(OFFICER), options={"verify_signature": False})
        claims["role"] = "admin"

        def part(value: dict[str, object]) -> str:
            raw = json.dumps(value, default=str).encode()
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        forged = f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."
        with pytest.raises(Unauthorized):
            tokens().verify(forged)

    def test_a_tampered_payload_is_refused(self) -> None:
        header, payload, signature = tokens().issue(OFFICER).split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["role"] = "admin"
        forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
        with pytest.raises(Unauthorized):
            tokens().verify(f"{header}.{forged_payload.decode()}.{signature}")

    def test_an_algorithm_outside_the_allow_list_is_refused(self) -> None:
        token = tokens(algorithms=["HS512"]).issue(OFFICER)
        with pytest.raises(Unauthorized):
            tokens(algorithms=["HS256"]).verify(token)

    def test_garbage_is_refused(self) -> None:
        with pytest.raises(Unauthorized):
            tokens().verify("not-a-token")


class TestPasswords:
    async def test_the_right_password_verifies_and_a_wrong_one_does_not(self) -> None:
        hasher = PasswordHasher()
        stored = await hasher.hash("congdan-demo")
        assert stored.startswith("$argon2id$")
        assert await hasher.verify(stored, "congdan-demo")
        assert not await hasher.verify(stored, "congdan-demo!")

    async def test_a_corrupt_hash_never_verifies(self) -> None:
        assert not await PasswordHasher().verify("not-a-hash", "anything")
