"""JWT access tokens: one pinned algorithm, every registered claim required and checked."""

import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization

from core_service.auth.clock import utcnow
from core_service.auth.exceptions import InvalidToken
from core_service.config import Settings

__all__ = [
    "REQUIRED_CLAIMS",
    "AccessToken",
    "TokenClaims",
    "VerifiedTokens",
    "decode_signed",
    "issue_access_token",
    "sign_claims",
]

# ``epoch`` is the user's token epoch when the token was issued: the active-user check refuses
# a token whose epoch is no longer the user's (see ``auth.dependencies``).
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti", "epoch"]


@dataclass(frozen=True)
class AccessToken:
    """A signed access token and its lifetime in seconds."""

    token: str
    expires_in: int


@dataclass(frozen=True)
class TokenClaims:
    """What a verified access token says: whose it is, its epoch, and its login (if any)."""

    user_id: uuid.UUID
    epoch: int
    session_id: uuid.UUID | None
    expires_at: float


def issue_access_token(
    settings: Settings, *, user_id: uuid.UUID, epoch: int, session_id: uuid.UUID
) -> AccessToken:
    """A fresh access token for ``user_id`` in token epoch ``epoch``, of the login
    ``session_id`` (its refresh-token family)."""
    now = utcnow()
    claims = {
        "sub": str(user_id),
        "epoch": epoch,
        "sid": str(session_id),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(seconds=settings.access_token_ttl_s),
        "jti": uuid.uuid4().hex,
    }
    return AccessToken(token=sign_claims(settings, claims), expires_in=settings.access_token_ttl_s)


def sign_claims(settings: Settings, claims: dict[str, Any]) -> str:
    """A JWT of ``claims`` signed with the service's key and pinned algorithm (each kind of
    token tells itself apart by its audience)."""
    headers = {"kid": settings.jwt_key_id} if settings.jwt_key_id else None
    return jwt.encode(claims, _signing_key(settings), settings.jwt_algorithm, headers=headers)


def decode_signed(
    settings: Settings, token: str, *, audience: str, required: list[str]
) -> dict[str, Any]:
    """The claims of a token signed by ``sign_claims`` for ``audience``, with every claim in
    ``required`` present and ``exp``/``nbf``/``iss``/``aud`` checked; PyJWT's errors (or
    ``InvalidToken`` for an unknown key) otherwise."""
    header = jwt.get_unverified_header(token)
    claims: dict[str, Any] = jwt.decode(
        token,
        _verification_key(settings, header.get("kid")),
        algorithms=[settings.jwt_algorithm],
        audience=audience,
        issuer=settings.jwt_issuer,
        leeway=settings.jwt_leeway_s,
        options={"require": required, "strict_aud": True},
    )
    return claims


class VerifiedTokens:
    """Tokens this app has verified, until they expire: one signature check per token.

    Only what the signed token itself says is kept (its epoch included), never whether the
    user may still use it: ``exp`` is enforced on every use and the caller compares the epoch
    and the active flag with the stored user on every request, so a cached token never
    outlives a password change or a deactivation. Bounded, oldest first out.
    """

    def __init__(
        self, max_entries: int = 10_000, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, TokenClaims] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def claims(self, settings: Settings, token: str) -> TokenClaims:
        """The claims of a valid token (checked once, then answered from memory until it
        expires); ``InvalidToken`` for anything else."""
        hit = self._entries.get(token)
        if hit is not None:
            if self._clock().timestamp() >= hit.expires_at + settings.jwt_leeway_s:
                del self._entries[token]
                raise InvalidToken
            self._entries.move_to_end(token)
            return hit
        claims = _verified_claims(settings, token)
        self._entries[token] = claims
        if len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return claims


def _verified_claims(settings: Settings, token: str) -> TokenClaims:
    """The claims of a valid token; ``InvalidToken`` for anything else."""
    try:
        claims = decode_signed(
            settings, token, audience=settings.jwt_audience, required=REQUIRED_CLAIMS
        )
        epoch = claims["epoch"]
        if not isinstance(epoch, int) or isinstance(epoch, bool):
            raise TypeError("the token epoch is not an integer")
        session_id = uuid.UUID(str(claims["sid"])) if "sid" in claims else None
        return TokenClaims(uuid.UUID(str(claims["sub"])), epoch, session_id, float(claims["exp"]))
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
