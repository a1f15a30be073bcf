"""JWT access tokens: one pinned algorithm, every registered claim required and checked."""

import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization

from core_service.auth.clock import utcnow
from core_service.auth.exceptions import InvalidToken
from core_service.config import Settings

__all__ = ["REQUIRED_CLAIMS", "AccessToken", "VerifiedTokens", "issue_access_token"]

REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]


@dataclass(frozen=True)
class AccessToken:
    """A signed access token and its lifetime in seconds."""

    token: str
    expires_in: int


def issue_access_token(settings: Settings, *, user_id: uuid.UUID) -> AccessToken:
    """A fresh access token for ``user_id``."""
    now = utcnow()
    claims = {
        "sub": str(user_id),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(seconds=settings.access_token_ttl_s),
        "jti": uuid.uuid4().hex,
    }
    headers = {"kid": settings.jwt_key_id} if settings.jwt_key_id else None
    token = jwt.encode(claims, _signing_key(settings), settings.jwt_algorithm, headers=headers)
    return AccessToken(token=token, expires_in=settings.access_token_ttl_s)


class VerifiedTokens:
    """Tokens this app has verified, until they expire: one signature check per token.

    ``exp`` is still enforced on every use; the user is still reloaded by the caller, so a
    deactivated user is refused at once. Bounded, oldest first out.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[uuid.UUID, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def user_id(self, settings: Settings, token: str) -> uuid.UUID:
        """The user id of a valid token (checked once, then answered from memory until it
        expires); ``InvalidToken`` for anything else."""
        hit = self._entries.get(token)
        if hit is not None and utcnow().timestamp() < hit[1] + settings.jwt_leeway_s:
            self._entries.move_to_end(token)
            return hit[0]
        user_id, expires_at = _verified_claims(settings, token)
        self._entries[token] = (user_id, expires_at)
        if len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return user_id


def _verified_claims(settings: Settings, token: str) -> tuple[uuid.UUID, float]:
    """The user id and expiry of a valid token; ``InvalidToken`` for anything else."""
    try:
        header = jwt.get_unverified_header(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            _verification_key(settings, header.get("kid")),
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=settings.jwt_leeway_s,
            options={"require": REQUIRED_CLAIMS, "strict_aud": True},
        )
        return uuid.UUID(str(claims["sub"])), float(claims["exp"])
    except (jwt.PyJWTError, ValueError, KeyError, TypeError) as error:
        raise InvalidToken from error


def _signing_key(settings: Settings) -> str:
    if settings.jwt_algorithm == "HS256" or settings.jwt_private_key is None:
        return settings.jwt_secret.get_secret_value()
    return settings.jwt_private_key.get_secret_value()


def _verification_key(settings: Settings, kid: object) -> str:
    if settings.jwt_algorithm == "HS256":
        return settings.jwt_secret.get_secret_value()
    if kid == settings.jwt_key_id and settings.jwt_private_key is not None:
        return _public_pem(settings.jwt_private_key.get_secret_value())
    if isinstance(kid, str) and kid in settings.jwt_verification_keys:
        return settings.jwt_verification_keys[kid]
    raise InvalidToken("The access token was signed with an unknown key.")


@lru_cache(maxsize=4)
def _public_pem(private_pem: str) -> str:
    private_key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    public_key = private_key.public_key()
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
