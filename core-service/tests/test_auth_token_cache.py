"""The cache of verified tokens saves signature checks, never the expiry check."""

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from core_service.auth.exceptions import InvalidToken
from core_service.auth.tokens import VerifiedTokens
from core_service.config import Settings


def _token(settings: Settings, *, user_id: uuid.UUID, lifetime: timedelta) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
        "epoch": 0,
    }
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), settings.jwt_algorithm)


def test_a_cached_token_is_refused_once_it_expires() -> None:
    settings = Settings(jwt_leeway_s=0)
    user_id = uuid.uuid4()
    token = _token(settings, user_id=user_id, lifetime=timedelta(seconds=60))
    now = datetime.now(UTC)
    cache = VerifiedTokens(clock=lambda: now)
    assert cache.claims(settings, token).user_id == user_id
    assert cache.claims(settings, token).user_id == user_id
    now += timedelta(seconds=61)
    with pytest.raises(InvalidToken):
        cache.claims(settings, token)


def test_the_cache_is_bounded_and_tampering_is_still_caught() -> None:
    settings = Settings()
    cache = VerifiedTokens(max_entries=2)
    tokens = [
        _token(settings, user_id=uuid.uuid4(), lifetime=timedelta(minutes=5)) for _ in range(3)
    ]
    for token in tokens:
        cache.claims(settings, token)
    assert len(cache) == 2
    header, payload, signature = tokens[0].split(".")
    with pytest.raises(InvalidToken):
        cache.claims(settings, f"{header}.{payload}.{signature[:-2]}AA")
