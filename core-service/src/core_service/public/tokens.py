"""End-user session tokens: signed like access tokens but for their own audience, naming one
bot, one end user and the key that issued them, so they are useless anywhere else."""

import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt

from core_service.auth.clock import utcnow
from core_service.auth.exceptions import InvalidToken
from core_service.auth.tokens import decode_signed, sign_claims
from core_service.config import PUBLIC_SESSION_AUDIENCE, Settings
from core_service.public.exceptions import InvalidSession

__all__ = ["SessionClaims", "issue_session_token", "session_claims"]

_REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti", "bot", "key"]


@dataclass(frozen=True)
class SessionClaims:
    """What a verified session token says."""

    bot_id: uuid.UUID
    end_user_id: str
    key_id: uuid.UUID


def issue_session_token(
    settings: Settings, *, bot_id: uuid.UUID, end_user_id: str, key_id: uuid.UUID
) -> str:
    """A session token for ``end_user_id`` of ``bot_id``, issued through key ``key_id``."""
    now = utcnow()
    return sign_claims(
        settings,
        {
            "sub": end_user_id,
            "bot": str(bot_id),
            "key": str(key_id),
            "iss": settings.jwt_issuer,
            "aud": PUBLIC_SESSION_AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + timedelta(seconds=settings.public_session_ttl_s),
            "jti": uuid.uuid4().hex,
        },
    )


def session_claims(settings: Settings, token: str) -> SessionClaims:
    """The claims of a valid session token; ``InvalidSession`` for anything else (an access
    token included: its audience differs)."""
    try:
        claims = decode_signed(
            settings, token, audience=PUBLIC_SESSION_AUDIENCE, required=_REQUIRED_CLAIMS
        )
        return SessionClaims(
            bot_id=uuid.UUID(str(claims["bot"])),
            end_user_id=str(claims["sub"]),
            key_id=uuid.UUID(str(claims["key"])),
        )
    except (jwt.PyJWTError, InvalidToken, ValueError, KeyError, TypeError) as error:
        raise InvalidSession from error
