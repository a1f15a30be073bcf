"""User bodies of the API; none of them carries the password hash."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from core_service.plans.schemas import PlanRead, plan_read
from core_service.users.models import User

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "Name",
    "Password",
    "UserRead",
    "UserUpdate",
    "Username",
    "user_read",
]

MIN_PASSWORD_LENGTH = 8
# argon2 takes any length; the cap keeps hashing cost and request size predictable.
MAX_PASSWORD_LENGTH = 1_024

Username = Annotated[
    str,
    StringConstraints(min_length=3, max_length=150, pattern=r"^[A-Za-z0-9_.\-]+$"),
    Field(description="3–150 letters, digits, '_', '.', '-'; unique ignoring case; no '@'."),
]
Password = Annotated[
    str,
    Field(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
        description="At least 8 characters, and not the username or email.",
    ),
]
Name = Annotated[str, Field(max_length=150)]


class UserRead(BaseModel):
    """An account as the API shows it."""

    id: uuid.UUID
    username: str
    email: str
    first_name: str
    last_name: str
    is_staff: bool
    is_active: bool
    date_joined: datetime
    subscription_status: str
    subscription_plan: PlanRead | None


class UserUpdate(BaseModel):
    """``PATCH /auth/me``: only the given fields change; unknown fields are refused (422)."""

    model_config = ConfigDict(extra="forbid")

    first_name: Name | None = None
    last_name: Name | None = None
    email: Annotated[EmailStr, Field(max_length=320)] | None = None
    password: Password | None = None
    current_password: Annotated[str, Field(max_length=MAX_PASSWORD_LENGTH)] | None = Field(
        default=None, description="Required to change `email` or `password`."
    )


def user_read(user: User) -> UserRead:
    """The API body of a user whose plan is loaded."""
    plan = user.subscription_plan
    return UserRead(
        id=user.id,
        username=user.username,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        is_staff=user.is_staff,
        is_active=user.is_active,
        date_joined=user.date_joined,
        subscription_status=user.subscription_status,
        subscription_plan=plan_read(plan) if plan is not None else None,
    )
