"""The agent's OpenAPI document matches ``chatsphere_contracts.v1``: same models, same fields."""

from typing import Any

import pytest
from pydantic import BaseModel

from agent_service.config import Settings
from agent_service.main import create_app
from chatsphere_contracts import v1

ENDPOINTS: list[tuple[str, type[BaseModel], type[BaseModel] | None]] = [
    ("/v1/embeddings", v1.EmbeddingsRequest, v1.EmbeddingsResponse),
    ("/v1/index/upsert", v1.UpsertRequest, v1.UpsertResponse),
    ("/v1/index/delete", v1.DeleteRequest, v1.DeleteResponse),
    ("/v1/retrieve", v1.RetrieveRequest, v1.RetrieveResponse),
    ("/v1/chat", v1.ChatRequest, v1.ChatResponse),
    ("/v1/chat/stream", v1.ChatRequest, None),
]


@pytest.fixture(scope="module")
def spec(agent_settings: Settings) -> dict[str, Any]:
    document: dict[str, Any] = create_app(agent_settings).openapi()
    return document


def _ref(content: dict[str, Any]) -> str:
    return str(content["application/json"]["schema"]["$ref"]).rsplit("/", 1)[-1]


@pytest.mark.parametrize(("path", "request_model", "response_model"), ENDPOINTS)
def test_each_endpoint_takes_and_returns_the_contract_models(
    spec: dict[str, Any],
    path: str,
    request_model: type[BaseModel],
    response_model: type[BaseModel] | None,
) -> None:
    operation = spec["paths"][path]["post"]
    assert _ref(operation["requestBody"]["content"]) == request_model.__name__
    if response_model is None:
        assert "text/event-stream" in operation["responses"]["200"]["content"]
    else:
        assert _ref(operation["responses"]["200"]["content"]) == response_model.__name__
    assert operation["security"] == [{"HTTPBearer": []}]
    for status in ("401", "403", "422", "502", "503", "504"):
        assert _ref(operation["responses"][status]["content"]) == "ErrorBody"


@pytest.mark.parametrize(
    "model", sorted({m for _, req, res in ENDPOINTS for m in (req, res) if m}, key=str)
)
def test_published_schemas_have_the_contract_fields(
    spec: dict[str, Any], model: type[BaseModel]
) -> None:
    published = spec["components"]["schemas"][model.__name__]
    contract = model.model_json_schema()
    assert set(published["properties"]) == set(contract["properties"])
    assert set(published.get("required", [])) == set(contract.get("required", []))
