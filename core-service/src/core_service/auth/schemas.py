"""Auth bodies of the API."""

from typing import Literal

from pydantic import BaseModel, EmailStr, Field

from core_service.users.schemas import Name, Password, Username

__all__ = ["RefreshRequest", "RegisterRequest", "TokenPair"]


class RegisterRequest(BaseModel):
    """``POST /auth/register``."""

    username: Username
    email: EmailStr = Field(max_length=320)
    password: Password
    first_name: Name = ""
    last_name: Name = ""


class TokenPair(BaseModel):
    """A short-lived access token and the refresh token that renews it."""

    access_token: str = Field(description="JWT; send as `Authorization: Bearer <token>`.")
    refresh_token: str = Field(description="Opaque; single use, rotated by `/auth/refresh`.")
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 type name
    expires_in: int = Field(description="Seconds until the access token expires.")


class RefreshRequest(BaseModel):
    """``POST /auth/refresh`` and ``POST /auth/logout``."""

    refresh_token: str = Field(min_length=1, max_length=512)
