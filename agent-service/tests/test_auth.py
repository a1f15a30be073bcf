"""Service keys: 401 without a valid key, 403 outside the key's namespaces."""

import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import ValidationError

from agent_service.config import DEVELOPMENT_API_KEY, Environment, ServiceKey, Settings
from agent_service.main import create_app
from testsupport.asgi import started_client

CORE_KEY = "core-secret-key-for-tests"
OPS_KEY = "ops-secret-key-for-tests"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@pytest.fixture
async def keyed_client(agent_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    keys = [
        ServiceKey(name="core", sha256=_digest(CORE_KEY), namespace_prefixes=["bot-"]),
        ServiceKey(name="ops", sha256=_digest(OPS_KEY).upper()),
    ]
    app = create_app(agent_settings.model_copy(update={"api_keys": keys}))
    async with started_client(app, base_url="http://agent.test") as client:
        yield client


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


RETRIEVE = {"namespace": "bot-1", "query": "anything"}


@pytest.mark.parametrize(
    "headers",
    [{}, _bearer("wrong"), {"Authorization": f"Basic {CORE_KEY}"}, _bearer(DEVELOPMENT_API_KEY)],
    ids=["none", "unknown", "not-bearer", "development-key-once-keys-are-set"],
)
async def test_requests_without_a_valid_key_are_401(
    keyed_client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await keyed_client.post("/v1/retrieve", json=RETRIEVE, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_key_outside_its_namespaces_is_403(keyed_client: httpx.AsyncClient) -> None:
    body = {"namespace": "team-search", "query": "anything"}
    response = await keyed_client.post("/v1/retrieve", json=body, headers=_bearer(CORE_KEY))
    assert response.status_code == 403
    assert response.json()["error"] == "Forbidden"


async def test_keys_work_inside_their_namespaces(keyed_client: httpx.AsyncClient) -> None:
    inside = await keyed_client.post("/v1/retrieve", json=RETRIEVE, headers=_bearer(CORE_KEY))
    anywhere = {"namespace": "team-search", "query": "anything"}
    unrestricted = await keyed_client.post("/v1/retrieve", json=anywhere, headers=_bearer(OPS_KEY))
    assert inside.status_code == 200
    assert unrestricted.status_code == 200


@pytest.mark.parametrize(
    ("namespace", "allowed"),
    [
        ("team", True),
        ("team-a", True),
        ("team:a", True),
        ("team.a", True),
        ("teammate-other", False),
        ("teamx", False),
        ("tea", False),
    ],
)
async def test_namespace_prefixes_match_whole_segments(
    agent_settings: Settings, namespace: str, *, allowed: bool
) -> None:
    key = ServiceKey(name="team", sha256=_digest(OPS_KEY), namespace_prefixes=["team", "bot-"])
    app = create_app(agent_settings.model_copy(update={"api_keys": [key]}))
    body = {"namespace": namespace, "query": "anything"}
    async with started_client(app, base_url="http://agent.test") as client:
        response = await client.post("/v1/retrieve", json=body, headers=_bearer(OPS_KEY))
    assert response.status_code == (200 if allowed else 403), response.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/index/upsert", {"chunks": [{"id": "c1", "document_id": "d1", "text": "text"}]}),
        ("/v1/index/delete", {"delete_all": True}),
        ("/v1/chat", {"message": "hello"}),
        ("/v1/chat/stream", {"message": "hello"}),
    ],
)
async def test_every_namespaced_endpoint_checks_the_namespace(
    keyed_client: httpx.AsyncClient, path: str, body: dict[str, object]
) -> None:
    request = {"namespace": "other", **body}
    response = await keyed_client.post(path, json=request, headers=_bearer(CORE_KEY))
    assert response.status_code == 403
    assert response.json()["error"] == "Forbidden"


async def test_the_development_key_works_while_no_keys_are_set(
    agent_client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await agent_client.post("/v1/embeddings", json={"texts": ["hi"]}, headers=auth)
    assert response.status_code == 200


def test_production_refuses_to_start_without_keys() -> None:
    with pytest.raises(ValidationError, match="AGENT_API_KEYS"):
        Settings(environment=Environment.PRODUCTION, database_url="postgresql://x/y")


def test_keys_are_read_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = f'[{{"name": "core", "sha256": "{_digest(CORE_KEY)}", "namespace_prefixes": ["bot-"]}}]'
    monkeypatch.setenv("AGENT_API_KEYS", entry)
    settings = Settings(environment=Environment.PRODUCTION)
    assert settings.api_keys[0].namespace_prefixes == ["bot-"]
    assert not settings.accepts_development_key
