"""Tokens (issuer, audience, expiry, algorithm allow-list) and password hashing."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Annotated

import httpx
import jwt
import pytest
from fastapi import Depends, FastAPI

from shared.auth import (
    AgencyMembership,
    PasswordHasher,
    Position,
    Principal,
    Role,
    TokenService,
    require_role,
)
from shared.errors import Unauthorized, install_error_handlers

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

    def test_a_verified_token_is_refused_once_it_expires(self) -> None:
        # Verified tokens are kept: the expiry must still be checked on every use.
        later = 0.0
        service = tokens(clock=lambda: time.time() + later)
        token = service.issue(OFFICER)
        assert service.verify(token) == OFFICER
        later = service.ttl.total_seconds()  # the same token, once its time is up
        with pytest.raises(Unauthorized, match="hết hạn"):
            service.verify(token)

    def test_a_refusal_is_not_kept_and_a_kept_token_vouches_for_no_other(self) -> None:
        service = tokens()
        genuine = service.issue(OFFICER)
        assert service.verify(genuine) == OFFICER
        header, payload, signature = genuine.split(".")
        for _ in range(2):
            with pytest.raises(Unauthorized):
                service.verify(f"{header}.{payload}.{signature[:-2]}AA")
        assert service.verify(genuine) == OFFICER


class TestPasswords:
    async def test_the_right_password_verifies_and_a_wrong_one_does_not(self) -> None:
        hasher = PasswordHasher()
        stored = await hasher.hash("congdan-demo")
        assert stored.startswith("$argon2id$")
        assert await hasher.verify(stored, "congdan-demo")
        assert not await hasher.verify(stored, "congdan-demo!")

    async def test_a_corrupt_hash_never_verifies(self) -> None:
        assert not await PasswordHasher().verify("not-a-hash", "anything")


class TestRoleGuard:
    @pytest.fixture
    async def client(self) -> AsyncIterator[httpx.AsyncClient]:
        app = FastAPI()
        app.state.runtime = SimpleNamespace(tokens=tokens())
        install_error_handlers(app)

        @app.get("/officers-only")
        async def officers_only(
            principal: Annotated[Principal, Depends(require_role(Role.OFFICER, Role.ADMIN))],
        ) -> dict[str, str]:
            return {"username": principal.username}

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client

    async def test_a_holder_of_the_role_passes(self, client: httpx.AsyncClient) -> None:
        token = tokens().issue(OFFICER)
        response = await client.get("/officers-only", headers={"authorization": f"Bearer {token}"})
        assert response.json() == {"username": "canbo1"}

    async def test_a_citizen_is_forbidden(self, client: httpx.AsyncClient) -> None:
        citizen = Principal(subject="c1", username="001099000001", role=Role.CITIZEN)
        token = tokens().issue(citizen)
        response = await client.get("/officers-only", headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 403
        assert response.json()["title"] == "Không có quyền truy cập"

    async def test_no_token_or_another_scheme_is_unauthenticated(
        self, client: httpx.AsyncClient
    ) -> None:
        assert (await client.get("/officers-only")).status_code == 401
        basic = await client.get("/officers-only", headers={"authorization": "Basic YTpi"})
        assert basic.status_code == 401
        assert basic.headers["www-authenticate"] == "Bearer"
