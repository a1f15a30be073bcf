"""Bodies of the public chat API."""

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["EndUserId", "PublicBot", "SessionCreate", "SessionRead"]

EndUserId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        description="Your id for the end user: printable ASCII without spaces.",
    ),
]


class SessionCreate(BaseModel):
    """Who the end user is: nobody yet (anonymous), or an id your server vouches for."""

    model_config = ConfigDict(extra="forbid")

    end_user_id: EndUserId | None = None
    end_user_hash: str | None = Field(
        default=None,
        max_length=128,
        description="With a publishable key: hex HMAC-SHA256 of end_user_id under the bot's "
        "identity secret.",
    )


class PublicBot(BaseModel):
    """What an end user may know of the bot."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str


class SessionRead(BaseModel):
    """A session token for one end user of one bot."""

    session_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the scheme, not a secret
    end_user_id: str
    expires_in: int = Field(description="Seconds the session token lives.")
    bot: PublicBot
