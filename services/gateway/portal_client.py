"""The national portal's API as the sync calls it: a token, then JSON calls whose answer
carries ``error_code``. Failures are sorted into two kinds: worth retrying (the portal
down, slow, erring or the answer lost) and refusals a retry would not change."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from shared.contracts.dvcqg import ErrorCode, HeldVersions

# Refusals a retry cannot change: the body breaks the portal's rules, or the portal
# holds a later step than the one sent. Others (a credential, a record the portal lost)
# may pass, or be fixed, and are retried until the budget is spent.
FINAL_REFUSALS = frozenset({ErrorCode.INVALID, ErrorCode.OUT_OF_ORDER})
# Renew a token this long before the portal says it expires.
TOKEN_MARGIN_SECONDS = 30.0


class PortalError(Exception):
    """A call that did not succeed; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool, code: str | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code


class PortalClient:
    """Calls through ``http`` (its owner closes it), each bounded by ``timeout_seconds``."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        client_id: str,
        client_secret: str,
        timeout_seconds: float,
    ) -> None:
        self._http = http
        self._seconds = timeout_seconds
        self._timeout = httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 2.0))
        self._client_id = client_id
        self._client_secret = client_secret
        self._token: str | None = None
        self._token_expires = 0.0

    async def call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``/api/<method>``; the answer when its ``error_code`` is "00". A token the
        portal no longer accepts is renewed once."""
        for renewed in (False, True):
            token = await self._bearer(renew=renewed)
            answer = await self._send("POST", f"/api/{method}", json=body, token=token)
            if answer.get("error_code") != ErrorCode.UNAUTHORIZED or renewed:
                break
        return self._checked(method, answer)

    async def held(self, *, after: str | None, limit: int) -> HeldVersions:
        """A page of the dossiers the portal holds (the mock's admin listing)."""
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["after"] = after
        token = await self._bearer(renew=False)
        answer = await self._send("GET", "/api/admin/dossiers", params=params, token=token)
        return HeldVersions.model_validate(self._checked("admin/dossiers", answer))

    async def _bearer(self, *, renew: bool) -> str:
        if renew or self._token is None or time.monotonic() >= self._token_expires:
            answer = self._checked(
                "token",
                await self._send(
                    "POST",
                    "/api/token",
                    json={"username": self._client_id, "password": self._client_secret},
                ),
            )
            self._token = str(answer["access_token"])
            lifetime = float(answer.get("expires_in", 300))
            self._token_expires = time.monotonic() + max(lifetime - TOKEN_MARGIN_SECONDS, 1.0)
        return self._token

    async def _send(
        self, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            # Also a deadline on the whole call: an in-process transport has no socket
            # time-outs.
            async with asyncio.timeout(self._seconds):
                response = await self._http.request(
                    method, path, headers=headers, timeout=self._timeout, **kwargs
                )
        except (httpx.TimeoutException, TimeoutError) as exc:
            raise PortalError(f"{path}: time-out", retryable=True) from exc
        except (httpx.TransportError, ConnectionError) as exc:
            # Refused, reset, or an answer lost on the way (the call may have been done).
            raise PortalError(f"{path}: {type(exc).__name__}", retryable=True) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise PortalError(f"{path}: HTTP {response.status_code}", retryable=True)
        try:
            answer = response.json()
        except ValueError as exc:
            # A proxy's error page, a half-written answer: passing, as far as one knows.
            raise PortalError(f"{path}: not JSON (HTTP {response.status_code})",
                              retryable=True) from exc  # fmt: skip
        if not isinstance(answer, dict) or "error_code" not in answer:
            raise PortalError(f"{path}: no error_code (HTTP {response.status_code})",
                              retryable=True)  # fmt: skip
        return answer

    @staticmethod
    def _checked(method: str, answer: dict[str, Any]) -> dict[str, Any]:
        code = str(answer.get("error_code"))
        if code == ErrorCode.OK:
            return answer
        message = f"{method}: {code} {answer.get('message', '')}".strip()
        raise PortalError(message, retryable=code not in FINAL_REFUSALS, code=code)
