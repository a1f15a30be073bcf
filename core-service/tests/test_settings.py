"""Settings validation: production refuses development secrets and weak keys."""

import os
import subprocess
import sys

import pytest
from pydantic import SecretStr, ValidationError

from core_service.config import DEV_AGENT_API_KEY, DEV_JWT_SECRET, Environment, Settings

STRONG_SECRET = SecretStr("Zq3vN8r-Lw0xT5kY2mH7cB4jF9pD1sG6aE_uR0iO3nV8")
STRONG_AGENT_KEY = SecretStr("pX7-kQ2wL9vM4zR8tY1nB6cH3jF0dG5sA_eU9iO2")


def test_development_defaults_are_accepted() -> None:
    settings = Settings(database_url=None)
    assert settings.environment is Environment.DEVELOPMENT
    assert settings.jwt_algorithm == "HS256"


def test_production_refuses_the_development_jwt_secret() -> None:
    with pytest.raises(ValidationError, match="CORE_JWT_SECRET must be set"):
        Settings(
            environment=Environment.PRODUCTION,
            database_url="postgresql+asyncpg://db/core",
            agent_api_key=STRONG_AGENT_KEY,
        )


def test_production_refuses_the_development_agent_key() -> None:
    with pytest.raises(ValidationError, match="CORE_AGENT_API_KEY must be set"):
        Settings(
            environment=Environment.PRODUCTION,
            database_url="postgresql+asyncpg://db/core",
            jwt_secret=STRONG_SECRET,
        )


def test_access_tokens_may_not_take_the_session_tokens_audience() -> None:
    # Were they the same, an end user's session token would pass as its bot owner's access token.
    with pytest.raises(ValidationError, match="CORE_JWT_AUDIENCE must not be 'chatsphere-public'"):
        Settings(jwt_audience="chatsphere-public")


def test_production_requires_a_database_url() -> None:
    with pytest.raises(ValidationError, match="CORE_DATABASE_URL must be set"):
        Settings(
            environment=Environment.PRODUCTION,
            jwt_secret=STRONG_SECRET,
            agent_api_key=STRONG_AGENT_KEY,
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
    assert STRONG_SECRET.get_secret_value() not in repr(settings)


PRODUCTION: dict[str, object] = {
    "environment": Environment.PRODUCTION,
    "database_url": "postgresql+asyncpg://db/core",
    "jwt_secret": STRONG_SECRET,
    "agent_api_key": STRONG_AGENT_KEY,
}


def test_production_accepts_random_secrets() -> None:
    assert Settings.model_validate(PRODUCTION).environment is Environment.PRODUCTION


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("jwt_secret", "x" * 32, id="jwt-one-repeated-character"),
        pytest.param("jwt_secret", "ab" * 24, id="jwt-two-characters-repeated"),
        pytest.param("jwt_secret", f"  {DEV_JWT_SECRET}  ", id="jwt-development-padded"),
        pytest.param("jwt_secret", f"{STRONG_SECRET.get_secret_value()} ", id="jwt-trailing-space"),
        pytest.param("agent_api_key", "k", id="agent-one-character"),
        pytest.param("agent_api_key", "k" * 40, id="agent-one-repeated-character"),
        pytest.param("agent_api_key", f"{DEV_AGENT_API_KEY}\n", id="agent-development-padded"),
    ],
)
def test_production_refuses_weak_secrets_without_showing_them(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings.model_validate({**PRODUCTION, field: SecretStr(value)})
    assert f"CORE_{field.upper()}" in str(refused.value)
    if len(value.strip()) >= 8:
        assert value.strip()[-6:] not in str(refused.value)


def test_development_may_use_any_long_enough_secret() -> None:
    assert Settings(jwt_secret=SecretStr("x" * 32), agent_api_key=SecretStr("k")).jwt_secret


def test_a_refused_start_up_prints_no_part_of_a_secret() -> None:
    """The service's own start-up, as its image runs it, refused for a short JWT secret."""
    secret = "tail-of-a-real-secret-QX7Z"
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("CORE_", "AGENT_"))
    }
    environment |= {"CORE_JWT_SECRET": secret, "CORE_DATABASE_URL": "postgresql+asyncpg://db/x"}
    started = subprocess.run(  # noqa: S603 - our own service
        [
            sys.executable,
            "-m",
            "uvicorn",
            "core_service.main:create_app",
            "--factory",
            "--port",
            "9",
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = started.stdout + started.stderr
    assert started.returncode != 0
    assert "CORE_JWT_SECRET must be at least 32 bytes" in output
    fragments = {secret[i : i + 4] for i in range(len(secret) - 3)}
    assert [fragment for fragment in fragments if fragment in output] == []
