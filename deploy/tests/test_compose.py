"""docker-compose.yml parses, every service is health-checked, and start-up order is explicit."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_ONLY_VARIABLES = {"POSTGRES_USER", "POSTGRES_PASSWORD", "CORE_PORT", "AGENT_PORT"}
IMAGE_VARIABLES = {"CHATSPHERE_CORE_IMAGE", "CHATSPHERE_AGENT_IMAGE"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def _env_example_variables() -> set[str]:
    """Variables .env.example documents, set or commented out."""
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def test_the_stack_has_every_part(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == {"postgres", "migrate", "core", "worker", "agent"}
    assert services["postgres"]["image"].startswith("pgvector/pgvector:")
    assert services["migrate"]["command"] == ["python", "-m", "core_service.migrate"]
    assert services["worker"]["command"] == ["python", "-m", "core_service.worker"]
    assert services["core"]["build"]["dockerfile"] == "deploy/docker/core.Dockerfile"
    assert services["agent"]["build"]["dockerfile"] == "deploy/docker/agent.Dockerfile"


def test_every_long_running_service_has_a_health_check(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        if name == "migrate":
            continue
        test = service["healthcheck"]["test"]
        assert test[0] in {"CMD", "CMD-SHELL"}, name
        assert "curl" not in " ".join(test), f"{name}: the images have no curl"


def test_the_migration_is_a_one_shot_step(services: dict[str, dict[str, Any]]) -> None:
    migrate = services["migrate"]
    assert migrate["restart"] == "no"
    assert migrate["healthcheck"] == {"disable": True}
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_start_up_order_uses_conditions(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for dependency, spec in service.get("depends_on", {}).items():
            expected = (
                "service_completed_successfully" if dependency == "migrate" else "service_healthy"
            )
            assert spec == {"condition": expected}, f"{name} -> {dependency}"
    for name in ("core", "worker"):
        assert set(services[name]["depends_on"]) == {"postgres", "migrate", "agent"}
    assert set(services["agent"]["depends_on"]) == {"postgres"}


def test_app_containers_are_hardened_and_get_time_to_drain(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in ("core", "worker", "agent"):
        service = services[name]
        assert service["read_only"] is True, name
        assert service["tmpfs"] == ["/tmp"], name  # noqa: S108 - a mount point
        assert service["cap_drop"] == ["ALL"], name
        grace = int(service["stop_grace_period"].removesuffix("s"))
        assert grace > 20, f"{name}: must outlast uvicorn's 20 s graceful shutdown"


def test_databases_come_from_the_init_script(services: dict[str, dict[str, Any]]) -> None:
    init_sql = (ROOT / "deploy" / "compose" / "postgres-init.sql").read_text()
    core_url = services["core"]["environment"]["CORE_DATABASE_URL"]
    agent_url = services["agent"]["environment"]["AGENT_DATABASE_URL"]
    assert core_url.startswith("postgresql+asyncpg://")
    assert agent_url.startswith("postgresql://")
    for url in (core_url, agent_url):
        database = url.rsplit("/", 1)[1]
        assert f"CREATE DATABASE {database};" in init_sql
    mounts = services["postgres"]["volumes"]
    assert any(m.startswith("./deploy/compose/postgres-init.sql:") for m in mounts)


def test_postgres_is_healthy_only_once_the_init_script_has_run(
    services: dict[str, dict[str, Any]],
) -> None:
    # During initialisation the image's temporary server listens on its Unix socket only, and
    # pg_isready answers for any database name: only a query over TCP on a database the init
    # script creates proves that it has run.
    (kind, command) = services["postgres"]["healthcheck"]["test"]
    init_sql = (ROOT / "deploy" / "compose" / "postgres-init.sql").read_text()
    database = re.search(r"-d (\w+)", command)
    assert kind == "CMD-SHELL"
    assert "psql -h 127.0.0.1" in command
    assert database is not None
    assert f"CREATE DATABASE {database[1]};" in init_sql


def test_every_container_is_non_root_and_read_only(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert service["security_opt"] == ["no-new-privileges:true"], name
    # The app images set uid 10001 themselves; the PostgreSQL image starts as root unless told.
    assert services["postgres"]["user"] == "postgres"
    assert "/var/run/postgresql:uid=999,gid=999" in services["postgres"]["tmpfs"]


def _override() -> dict[str, Any]:
    class ComposeLoader(yaml.SafeLoader):
        """Reads compose's `!reset` tag (drop what the base file set) as an empty value."""

    ComposeLoader.add_constructor("!reset", lambda loader, node: [])
    text = (ROOT / "deploy" / "compose" / "host-network.yml").read_text()
    # A SafeLoader subclass with one more tag: still no arbitrary objects.
    document: dict[str, Any] = yaml.load(text, Loader=ComposeLoader)  # noqa: S506
    return document


def test_host_network_override_only_moves_traffic_to_loopback(
    services: dict[str, dict[str, Any]],
) -> None:
    override = _override()["services"]
    assert set(override) == set(services)
    for name, service in override.items():
        assert service["network_mode"] == "host", name
        assert set(service) <= {"network_mode", "ports", "environment"}, name
        assert service.get("ports", []) == [], f"{name}: host networking publishes nothing"
        environment = service.get("environment", {})
        assert set(environment) <= set(services[name]["environment"]), name
        for variable, url in environment.items():
            assert re.match(r"[\w+]+://([^@/]*@)?127\.0\.0\.1:\d+(/|$)", url), variable


def test_every_interpolated_variable_is_documented() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    assert used, "the compose file takes its settings from the environment"
    assert used <= _env_example_variables()


def test_env_example_names_only_real_settings() -> None:
    from agent_service.config import Settings as AgentSettings
    from core_service.config import Settings as CoreSettings

    known = COMPOSE_ONLY_VARIABLES | IMAGE_VARIABLES
    known |= {f"CORE_{name.upper()}" for name in CoreSettings.model_fields}
    known |= {f"AGENT_{name.upper()}" for name in AgentSettings.model_fields}
    documented = _env_example_variables()
    assert documented - known == set(), "documented but no such setting"
