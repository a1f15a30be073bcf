"""``/api/v1/auth``: register, login, refresh, logout, me."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from core_service.auth import service as auth_service
from core_service.auth.dependencies import AppSettings, CurrentUser
from core_service.auth.exceptions import RefreshTokenReused
from core_service.auth.schemas import RefreshRequest, RegisterRequest, TokenPair
from core_service.database import SessionDep
from core_service.ratelimit import service as ratelimit_service
from core_service.ratelimit.dependencies import client_address, count_hit
from core_service.ratelimit.service import Limit, bucket_key
from core_service.users import service as users_service
from core_service.users.schemas import UserRead, UserUpdate, user_read

__all__ = ["router"]

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", status_code=201, response_model=UserRead)
async def register(
    request: Request, session: SessionDep, settings: AppSettings, body: RegisterRequest
) -> UserRead:
    """Create an account on the free plan (409 when the username or email is taken)."""
    limit = Limit(settings.rate_limit_register_per_address, settings.rate_limit_register_window_s)
    await count_hit(request, key=bucket_key("register:addr", client_address(request)), limit=limit)
    user = await auth_service.register(session, settings=settings, data=body)
    return user_read(user)


@router.post("/login", response_model=TokenPair)
async def login(
    request: Request,
    session: SessionDep,
    settings: AppSettings,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> TokenPair:
    """OAuth2 password flow; ``username`` may be the username or the email address."""
    window = settings.rate_limit_login_window_s
    by_address = Limit(settings.rate_limit_login_per_address, window)
    await count_hit(
        request, key=bucket_key("login:addr", client_address(request)), limit=by_address
    )
    found = await users_service.find_by_login(session, login=form.username)
    # Keyed by the account, so that switching between username and email gains nothing.
    account_key = bucket_key("login:account", str(found.id) if found else form.username)
    by_account = Limit(settings.rate_limit_login_per_account, window)
    await count_hit(request, key=account_key, limit=by_account)
    user = await auth_service.authenticate(settings, user=found, password=form.password)
    await ratelimit_service.reset(session, key=account_key)
    return await auth_service.issue_tokens(session, settings=settings, user=user)


@router.post("/refresh", response_model=TokenPair)
async def refresh(session: SessionDep, settings: AppSettings, body: RefreshRequest) -> TokenPair:
    """A new token pair; the given refresh token is spent (using it again revokes the login)."""
    try:
        return await auth_service.refresh(session, settings=settings, token=body.refresh_token)
    except RefreshTokenReused:
        # The family revocation must outlive the error's rollback.
        await session.commit()
        raise


@router.post("/logout", status_code=204)
async def logout(session: SessionDep, body: RefreshRequest) -> Response:
    """Revoke the login the refresh token belongs to (204 even for unknown tokens)."""
    await auth_service.logout(session, token=body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserRead)
async def read_me(user: CurrentUser) -> UserRead:
    """The caller's account."""
    return user_read(user)


@router.patch("/me", response_model=UserRead)
async def update_me(
    session: SessionDep, settings: AppSettings, user: CurrentUser, body: UserUpdate
) -> UserRead:
    """Change names, email or password (a new password ends every other login)."""
    updated = await auth_service.update_me(session, settings=settings, user=user, changes=body)
    return user_read(updated)
