"""Auth settings: production refuses argon2 below OWASP's minimum; tests may hash cheaply."""

import pytest
from pydantic import SecretStr, ValidationError

from core_service.config import Environment, Settings

PRODUCTION: dict[str, object] = {
    "environment": Environment.PRODUCTION,
    "database_url": "postgresql+asyncpg://db/core",
    "jwt_secret": SecretStr("Zq3vN8r-Lw0xT5kY2mH7cB4jF9pD1sG6aE_uR0iO3nV8"),
    "agent_api_key": SecretStr("pX7-kQ2wL9vM4zR8tY1nB6cH3jF0dG5sA_eU9iO2"),
}


def test_production_accepts_the_default_argon2_cost() -> None:
    settings = Settings.model_validate(PRODUCTION)
    assert (settings.argon2_time_cost, settings.argon2_memory_kib) == (3, 65_536)
    assert settings.argon2_parallelism == 4


@pytest.mark.parametrize(("memory_kib", "time_cost"), [(19_455, 2), (65_536, 1), (1_024, 1)])
def test_production_refuses_argon2_below_owasp(memory_kib: int, time_cost: int) -> None:
    with pytest.raises(ValidationError, match="OWASP"):
        Settings.model_validate(
            {**PRODUCTION, "argon2_memory_kib": memory_kib, "argon2_time_cost": time_cost}
        )


def test_tests_may_use_cheap_argon2() -> None:
    settings = Settings(environment=Environment.TEST, argon2_memory_kib=1_024, argon2_time_cost=1)
    assert settings.argon2_memory_kib == 1_024


def test_only_three_jwt_algorithms_exist() -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate({"jwt_algorithm": "none"})
    with pytest.raises(ValidationError):
        Settings.model_validate({"jwt_algorithm": "HS512"})
