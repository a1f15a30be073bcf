"""Asymmetric signing: EdDSA/RS256 with ``kid``, key rotation, and one pinned algorithm."""

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from pydantic import SecretStr, ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.config import Settings
from testsupport.core_users import core_client_for, signup

ME = "/api/v1/auth/me"


def _ed25519_pems() -> tuple[str, str]:
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def _token(settings: Settings, user_id: str, key: str, algorithm: str, kid: str) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": user_id,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=5),
        "jti": uuid.uuid4().hex,
        "epoch": 0,
    }
    return jwt.encode(claims, key, algorithm, headers={"kid": kid})


async def test_eddsa_tokens_carry_a_kid_and_old_keys_still_verify(
    core_settings: Settings, core_db: AsyncEngine
) -> None:
    old_private, old_public = _ed25519_pems()
    new_private, _ = _ed25519_pems()
    settings = core_settings.model_copy(
        update={
            "jwt_algorithm": "EdDSA",
            "jwt_private_key": SecretStr(new_private),
            "jwt_key_id": "2026-11",
            "jwt_verification_keys": {"2026-10": old_public},
        }
    )
    async with core_client_for(settings) as client:
        user = await signup(client)
        assert jwt.get_unverified_header(user.access_token) == {
            "alg": "EdDSA",
            "typ": "JWT",
            "kid": "2026-11",
        }
        assert (await client.get(ME, headers=user.headers)).status_code == 200
        old = _token(settings, user.id, old_private, "EdDSA", "2026-10")
        unknown_kid = _token(settings, user.id, old_private, "EdDSA", "retired")
        rsa_key = rsa.generate_private_key(public_exponent=65_537, key_size=2_048)
        rs256 = _token(settings, user.id, _pem(rsa_key), "RS256", "2026-11")
        hs256 = _token(settings, user.id, "y" * 48, "HS256", "2026-11")
        statuses = [
            (await client.get(ME, headers={"Authorization": f"Bearer {token}"})).status_code
            for token in (old, unknown_kid, rs256, hs256)
        ]
    assert statuses == [200, 401, 401, 401]


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


async def test_rs256_signs_and_verifies(core_settings: Settings, core_db: AsyncEngine) -> None:
    key = rsa.generate_private_key(public_exponent=65_537, key_size=2_048)
    settings = core_settings.model_copy(
        update={
            "jwt_algorithm": "RS256",
            "jwt_private_key": SecretStr(_pem(key)),
            "jwt_key_id": "r1",
        }
    )
    async with core_client_for(settings) as client:
        user = await signup(client)
        response = await client.get(ME, headers=user.headers)
    assert jwt.get_unverified_header(user.access_token)["alg"] == "RS256"
    assert response.status_code == 200


def test_settings_require_a_key_and_kid_for_asymmetric_algorithms() -> None:
    with pytest.raises(ValidationError, match="CORE_JWT_PRIVATE_KEY"):
        Settings(jwt_algorithm="EdDSA")
