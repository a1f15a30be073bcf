"""Bot key bodies of the API."""

import uuid
from datetime import datetime
from typing import Annotated, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from core_service.botkeys.models import KeyKind

__all__ = [
    "MAX_RATE_LIMIT_PER_MINUTE",
    "BotKeyCreate",
    "BotKeyCreated",
    "BotKeyRead",
    "IdentitySecretRead",
    "normalised_origin",
]

MAX_RATE_LIMIT_PER_MINUTE = 100_000
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalised_origin(value: str) -> str:
    """An origin as browsers send it (``https://shop.example``); ``ValueError`` for anything
    with a path, query, credentials or a scheme other than http(s)."""
    parts = urlsplit(value.strip().rstrip("/"))
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError("an origin is http(s)://host[:port]")
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("an origin has no path, query, fragment or credentials")
    port = parts.port
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    suffix = "" if port in (None, _DEFAULT_PORTS[parts.scheme]) else f":{port}"
    return f"{parts.scheme}://{host}{suffix}"


Origin = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(normalised_origin)]


class BotKeyCreate(BaseModel):
    """A new key; publishable keys need the web sites (origins) that may use them."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: KeyKind
    allowed_origins: list[Origin] = Field(default_factory=list, max_length=50)
    rate_limit_per_minute: int = Field(
        default=600,
        ge=1,
        le=MAX_RATE_LIMIT_PER_MINUTE,
        description="Requests a minute made with this key or the sessions it issued.",
    )

    @model_validator(mode="after")
    def _origins_fit_the_kind(self) -> Self:
        if self.kind is KeyKind.PUBLISHABLE and not self.allowed_origins:
            raise ValueError("a publishable key needs at least one allowed origin")
        if self.kind is KeyKind.SECRET and self.allowed_origins:
            raise ValueError("a secret key is for servers and takes no allowed origins")
        self.allowed_origins = list(dict.fromkeys(self.allowed_origins))
        return self


class BotKeyRead(BaseModel):
    """A key as its owner sees it later: never the key itself."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    bot_id: uuid.UUID
    name: str
    kind: KeyKind
    prefix: str = Field(description="The key's first characters, to tell keys apart.")
    allowed_origins: list[str]
    rate_limit_per_minute: int
    created_at: datetime
    last_used_at: datetime | None


class BotKeyCreated(BotKeyRead):
    """A new key, with the key itself: shown this once."""

    key: str = Field(description="The key; only its hash is stored, so it cannot be shown again.")


class IdentitySecretRead(BaseModel):
    """The secret that signs verified end-user ids (hex HMAC-SHA256 of the id)."""

    identity_secret: str
