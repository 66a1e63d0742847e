from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from starlette.responses import JSONResponse

from services.gateway import health as health_service
from services.gateway import service as account_service
from services.gateway.schemas import MeResponse, TokenResponse
from shared.auth import CurrentPrincipal, PasswordHasher, TokenService
from shared.contracts.health import PlatformHealth
from shared.db import SessionDep

router = APIRouter(prefix="/api/v1")


async def get_tokens(request: Request) -> TokenService:
    tokens: TokenService = request.app.state.runtime.tokens
    return tokens


async def get_hasher(request: Request) -> PasswordHasher:
    hasher: PasswordHasher = request.app.state.hasher
    return hasher


@router.post("/auth/token", response_model=TokenResponse, tags=["auth"])
async def issue_token(
    session: SessionDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    tokens: Annotated[TokenService, Depends(get_tokens)],
    hasher: Annotated[PasswordHasher, Depends(get_hasher)],
) -> TokenResponse:
    """Log in with a username (a citizen's 12-digit ID number) and password; get a bearer token."""
    principal = await account_service.authenticate(
        session, username=form.username, password=form.password, hasher=hasher
    )
    return TokenResponse(
        access_token=tokens.issue(principal), expires_in=int(tokens.ttl.total_seconds())
    )


@router.get("/auth/me", response_model=MeResponse, tags=["auth"])
async def who_am_i(principal: CurrentPrincipal) -> MeResponse:
    """The caller, as their token says."""
    return MeResponse(
        id=principal.subject,
        username=principal.username,
        role=principal.role,
        agencies=list(principal.agencies),
    )


@router.get(
    "/health",
    response_model=PlatformHealth,
    tags=["health"],
    responses={503: {"model": PlatformHealth}},
)
async def platform_health(request: Request) -> JSONResponse:
    """Readiness of the gateway and of every service behind it (503 if any is not ready)."""
    report = await health_service.platform_health(
        request.app.state.runtime, request.app.state.upstreams
    )
    return JSONResponse(report.model_dump(), status_code=200 if report.status == "ok" else 503)
