"""``/api/v1/auth``: register, login, refresh, logout, me."""

from contextlib import nullcontext
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from core_service.auth import service as auth_service
from core_service.auth.dependencies import AppSettings, CurrentLogin, CurrentUser, PasswordsDep
from core_service.auth.exceptions import RefreshTokenReused
from core_service.auth.schemas import RefreshRequest, RegisterRequest, TokenPair
from core_service.config import Settings
from core_service.database import SessionDep
from core_service.ratelimit import service as ratelimit_service
from core_service.ratelimit.dependencies import client_address, count_hit
from core_service.ratelimit.service import Limit, bucket_key
from core_service.users import service as users_service
from core_service.users.models import User
from core_service.users.schemas import UserRead, UserUpdate, user_read

__all__ = ["router"]

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", status_code=201, response_model=UserRead)
async def register(
    request: Request,
    session: SessionDep,
    settings: AppSettings,
    passwords: PasswordsDep,
    body: RegisterRequest,
) -> UserRead:
    """Create an account on the free plan (409 when the username or email is taken)."""
    address = client_address(request)
    limit = Limit(settings.rate_limit_register_per_address, settings.rate_limit_register_window_s)
    async with passwords.admit(address):
        await count_hit(request, key=bucket_key("register:addr", address), limit=limit)
        user = await auth_service.register(session, passwords=passwords, data=body)
    return user_read(user)


@router.post("/login", response_model=TokenPair)
async def login(
    request: Request,
    session: SessionDep,
    settings: AppSettings,
    passwords: PasswordsDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> TokenPair:
    """OAuth2 password flow; ``username`` may be the username or the email address.

    A hashing place is taken before any database work, and every limit is counted before
    the password is hashed.
    """
    address = client_address(request)
    async with passwords.admit(address):
        window = settings.rate_limit_login_window_s
        by_address = Limit(settings.rate_limit_login_per_address, window)
        await count_hit(request, key=bucket_key("login:addr", address), limit=by_address)
        found = await users_service.find_by_login(session, login=form.username)
        await auth_service.release(session)  # no connection held while limits count and hash
        pair_key = await _count_account_attempt(request, settings, found, form.username, address)
        user = await auth_service.authenticate(
            session, passwords=passwords, user=found, password=form.password
        )
    await ratelimit_service.reset(session, key=pair_key)
    return await auth_service.issue_tokens(session, settings=settings, user=user)


async def _count_account_attempt(
    request: Request, settings: Settings, found: User | None, login: str, address: str
) -> str:
    """Count an attempt on the account from this address, and on the account from anywhere.

    Keyed by the account's id, so that switching between username and email gains nothing.
    The tight limit is per (account, address): a stranger cannot lock the owner out from
    elsewhere; the higher ceiling still stops a guesser spread over many addresses. Returns
    the (account, address) key, which a successful login clears.
    """
    account = str(found.id) if found is not None else login
    window = settings.rate_limit_login_window_s
    pair_key = bucket_key("login:account-addr", f"{account} {address}")
    pair_limit = Limit(settings.rate_limit_login_per_account, window)
    await count_hit(request, key=pair_key, limit=pair_limit)
    ceiling = Limit(settings.rate_limit_login_per_account_all_addresses, window)
    await count_hit(request, key=bucket_key("login:account", account), limit=ceiling)
    return pair_key


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


@router.patch(
    "/me",
    response_model=UserRead,
    responses={403: {"description": "`current_password` is missing or wrong."}},
)
async def update_me(
    request: Request,
    session: SessionDep,
    passwords: PasswordsDep,
    user: CurrentUser,
    login: CurrentLogin,
    body: UserUpdate,
) -> UserRead:
    """Change names, email or password; the email and password need `current_password`.

    A new password ends every other login and every access token issued before it, this
    request's included: the client renews it with its refresh token, which stays valid.
    """
    hashes = body.password is not None or body.email is not None
    async with passwords.admit(client_address(request)) if hashes else nullcontext():
        updated = await auth_service.update_me(
            session, passwords=passwords, user=user, changes=body, login=login
        )
    return user_read(updated)
