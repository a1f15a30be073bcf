"""The v1 wire models: round-trips, bounds, and the stream framing."""

import json

import pytest
from pydantic import BaseModel, ValidationError

from chatsphere_contracts import v1

SAMPLES: list[BaseModel] = [
    v1.EmbeddingsRequest(texts=["hello", "world"]),
    v1.EmbeddingsResponse(model="hash", dimensions=2, vectors=[[0.1, 0.2], [0.3, 0.4]]),
    v1.UpsertRequest(
        namespace="bot-1",
        chunks=[v1.IndexChunk(id="c1", document_id="d1", text="t", metadata={"page": 1})],
    ),
    v1.UpsertResponse(upserted=1),
    v1.DeleteRequest(namespace="bot-1", document_id="d1"),
    v1.DeleteResponse(deleted=3),
    v1.RetrieveRequest(
        namespace="bot-1", query="q", top_k=3, filter=v1.RetrievalFilter(document_ids=["d1"])
    ),
    v1.RetrieveResponse(
        matches=[v1.RetrieveMatch(chunk_id="c1", document_id="d1", text="t", score=0.5)]
    ),
    v1.ChatRequest(
        namespace="bot-1",
        message="hi",
        history=[v1.HistoryMessage(role=v1.ChatRole.USER, content="before")],
        config=v1.ChatConfig(agent_type=v1.AgentType.REACT, temperature=0.2, top_k=4),
    ),
    v1.ChatResponse(
        answer="a",
        citations=[v1.Citation(chunk_id="c1", document_id="d1", score=0.9, snippet="s")],
        usage=v1.TokenUsage(input_tokens=3, output_tokens=1),
        model="extractive",
    ),
    v1.HealthResponse(status=v1.CheckStatus.OK, service="agent-service", version="0.1.0"),
    v1.ReadinessResponse(
        status=v1.CheckStatus.FAILING, checks={"database": v1.CheckStatus.FAILING}
    ),
    v1.ErrorBody(error="NotFound", detail="Not found."),
]


@pytest.mark.parametrize("model", SAMPLES, ids=lambda m: type(m).__name__)
def test_every_model_survives_a_json_round_trip(model: BaseModel) -> None:
    assert type(model).model_validate_json(model.model_dump_json()) == model


def test_version_markers() -> None:
    assert v1.API_VERSION == "v1"
    assert v1.CONTRACT_VERSION.startswith("1.")


def test_every_exported_name_exists() -> None:
    assert all(hasattr(v1, name) for name in v1.__all__)


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        v1.EmbeddingsRequest.model_validate({"texts": ["a"], "model": "other"})


@pytest.mark.parametrize(
    "texts", [[], [""], ["x"] * (v1.MAX_TEXTS_PER_EMBEDDING + 1)], ids=["none", "empty", "too-many"]
)
def test_embedding_request_bounds(texts: list[str]) -> None:
    with pytest.raises(ValidationError):
        v1.EmbeddingsRequest(texts=texts)


def test_upsert_refuses_too_many_chunks() -> None:
    chunk = v1.IndexChunk(id="c", document_id="d", text="t")
    with pytest.raises(ValidationError):
        v1.UpsertRequest(namespace="n", chunks=[chunk] * (v1.MAX_CHUNKS_PER_UPSERT + 1))


@pytest.mark.parametrize("namespace", ["", "has space", "-leading", "x" * 129])
def test_namespace_must_be_a_safe_identifier(namespace: str) -> None:
    with pytest.raises(ValidationError):
        v1.DeleteRequest(namespace=namespace, delete_all=True)


@pytest.mark.parametrize(
    "selectors",
    [{}, {"ids": ["a"], "document_id": "d"}, {"document_id": "d", "delete_all": True}],
    ids=["none", "ids+document", "document+all"],
)
def test_delete_takes_exactly_one_selector(selectors: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        v1.DeleteRequest.model_validate({"namespace": "bot-1", **selectors})


def test_retrieve_bounds() -> None:
    with pytest.raises(ValidationError):
        v1.RetrieveRequest(namespace="n", query="q", top_k=v1.MAX_TOP_K + 1)
    with pytest.raises(ValidationError):
        v1.RetrieveRequest(namespace="n", query="q" * (v1.MAX_QUERY_CHARS + 1))


def test_chat_config_temperature_bounds() -> None:
    with pytest.raises(ValidationError):
        v1.ChatConfig(temperature=2.5)


def test_error_body_omits_fields_when_there_are_none() -> None:
    assert v1.ErrorBody(error="E", detail="d").to_json_dict() == {"error": "E", "detail": "d"}


def test_sse_framing() -> None:
    frame = v1.format_sse(v1.StreamEventName.TOKEN, v1.StreamToken(delta="Hel"))
    assert frame.startswith("event: token\ndata: ")
    assert frame.endswith("\n\n")
    assert json.loads(frame.split("data: ", 1)[1]) == {"delta": "Hel"}


def test_models_are_documented() -> None:
    for name in v1.__all__:
        obj = getattr(v1, name)
        if isinstance(obj, type) and issubclass(obj, BaseModel):
            missing = [f for f, info in obj.model_fields.items() if not info.description]
            assert not missing, f"{name} fields without description: {missing}"


UNSTORABLE = ["nul\x00byte", "lone \ud800 surrogate"]


@pytest.mark.parametrize("text", UNSTORABLE, ids=["nul", "surrogate"])
def test_text_that_postgres_cannot_store_is_refused(text: str) -> None:
    with pytest.raises(ValidationError, match="NUL|surrogate"):
        v1.IndexChunk(id="c", document_id="d", text=text)
    with pytest.raises(ValidationError):
        v1.RetrieveRequest(namespace="n", query=text)
    with pytest.raises(ValidationError):
        v1.ChatRequest(namespace="n", message=text)
    with pytest.raises(ValidationError):
        v1.EmbeddingsRequest(texts=[text])


def test_metadata_is_flat_and_storable() -> None:
    flat: dict[str, bool | int | float | str | list[str]] = {
        "document_name": "é",
        "chunk_index": 3,
        "score": 0.5,
        "draft": False,
        "tags": ["a"],
    }
    assert v1.IndexChunk(id="c", document_id="d", text="t", metadata=flat).metadata == flat
    for refused in ({"k": {"nested": 1}}, {"k": None}, {"k": "a\x00"}, {"bad\x00key": 1}, {"": 1}):
        with pytest.raises(ValidationError):
            v1.IndexChunk.model_validate(
                {"id": "c", "document_id": "d", "text": "t", "metadata": refused}
            )


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (v1.RetrieveRequest, {"namespace": "n", "query": "q", "min_score": False}),
        (v1.RetrieveRequest, {"namespace": "n", "query": "q", "top_k": True}),
        (v1.ChatConfig, {"temperature": False}),
        (v1.ChatConfig, {"top_k": "5"}),
        (v1.DeleteRequest, {"namespace": "n", "delete_all": 1}),
    ],
    ids=["min_score=false", "top_k=true", "temperature=false", "top_k='5'", "delete_all=1"],
)
def test_numbers_and_booleans_are_not_coerced(
    model: type[BaseModel], body: dict[str, object]
) -> None:
    with pytest.raises(ValidationError):
        model.model_validate_json(json.dumps(body))


def test_integers_are_still_accepted_as_floats() -> None:
    assert v1.ChatConfig.model_validate_json('{"temperature": 1}').temperature == 1.0
