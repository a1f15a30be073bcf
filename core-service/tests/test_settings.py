"""Settings validation: production refuses development secrets and weak keys."""

import pytest
from pydantic import SecretStr, ValidationError

from core_service.config import Environment, Settings

STRONG_SECRET = SecretStr("x" * 48)


def test_development_defaults_are_accepted() -> None:
    settings = Settings(database_url=None)
    assert settings.environment is Environment.DEVELOPMENT
    assert settings.jwt_algorithm == "HS256"


def test_production_refuses_the_development_jwt_secret() -> None:
    with pytest.raises(ValidationError, match="CORE_JWT_SECRET must be set"):
        Settings(
            environment=Environment.PRODUCTION,
            database_url="postgresql+asyncpg://db/core",
            agent_api_key=SecretStr("k" * 40),
        )


def test_production_refuses_the_development_agent_key() -> None:
    with pytest.raises(ValidationError, match="CORE_AGENT_API_KEY must be set"):
        Settings(
            environment=Environment.PRODUCTION,
            database_url="postgresql+asyncpg://db/core",
            jwt_secret=STRONG_SECRET,
        )


def test_production_requires_a_database_url() -> None:
    with pytest.raises(ValidationError, match="CORE_DATABASE_URL must be set"):
        Settings(
            environment=Environment.PRODUCTION,
            jwt_secret=STRONG_SECRET,
            agent_api_key=SecretStr("k" * 40),
        )


def test_a_short_hs256_secret_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        Settings(jwt_secret=SecretStr("too-short"))


def test_environment_variables_are_read_with_the_core_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CORE_ACCESS_TOKEN_TTL_S", "600")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://db/core")
    settings = Settings()
    assert settings.access_token_ttl_s == 600
    assert settings.database_url == "postgresql+asyncpg://db/core"


def test_out_of_range_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORE_DATABASE_POOL_SIZE", "0")
    with pytest.raises(ValidationError):
        Settings()


def test_secrets_are_not_shown_in_the_settings_repr() -> None:
    settings = Settings(jwt_secret=STRONG_SECRET)
    assert "x" * 48 not in repr(settings)
