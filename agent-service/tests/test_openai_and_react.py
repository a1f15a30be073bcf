"""OpenAI-compatible chat and the ReAct agent, through the Chat Completions wire format."""

import json
from typing import Any

import httpx
from pytest_httpx import HTTPXMock

from chatsphere_contracts import v1

BASE_URL = "http://llm.internal:8000/v1"
COMPLETIONS = f"{BASE_URL}/chat/completions"
OPENAI = {"chat_provider": "openai", "openai_base_url": BASE_URL, "openai_chat_model": "qwen3"}


def completion(
    content: str | None, *, tool_calls: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A non-streamed Chat Completions response."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "qwen3",
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if tool_calls else "stop",
            }
        ],
        "usage": {"prompt_tokens": 50, "completion_tokens": 7, "total_tokens": 57},
    }


def tool_call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


def stream_chunk(delta: dict[str, Any], *, finish: str | None = None) -> str:
    chunk = {
        "id": "chatcmpl-2",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "qwen3",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(chunk)}\n\n"


def usage_chunk(prompt: int, completion_tokens: int) -> str:
    chunk = {
        "id": "chatcmpl-2",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "qwen3",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt + completion_tokens,
        },
    }
    return f"data: {json.dumps(chunk)}\n\n"


async def _index(client: httpx.AsyncClient, auth: dict[str, str], namespace: str) -> None:
    chunks = [
        {"id": "price", "document_id": "pricing", "text": "The Pro plan costs 12 euros a month."},
        {"id": "office", "document_id": "about", "text": "The office is in Lisbon."},
    ]
    body = {"namespace": namespace, "chunks": chunks}
    assert (await client.post("/v1/index/upsert", json=body, headers=auth)).status_code == 200


async def _ask_streamed(
    client_with: Any, httpx_mock: HTTPXMock, auth: dict[str, str], namespace: str, model_sends: str
) -> httpx.Response:
    """The agent's stream for a question, the model answering with ``model_sends``."""
    httpx_mock.add_response(
        url=COMPLETIONS, content=model_sends.encode(), headers={"content-type": "text/event-stream"}
    )
    body = {"namespace": namespace, "message": "How much is Pro?"}
    async with client_with(**OPENAI) as client:
        await _index(client, auth, namespace)
        response: httpx.Response = await client.post("/v1/chat/stream", json=body, headers=auth)
    return response


def sent(httpx_mock: HTTPXMock) -> list[dict[str, Any]]:
    return [json.loads(request.content) for request in httpx_mock.get_requests(url=COMPLETIONS)]


async def test_rag_chat_through_an_openai_compatible_server(
    client_with: Any, httpx_mock: HTTPXMock, auth: dict[str, str], namespace: str
) -> None:
    httpx_mock.add_response(url=COMPLETIONS, json=completion("It costs 12 euros a month [1]."))
    body = {"namespace": namespace, "message": "How much is Pro?", "config": {"model": "llama3"}}
    async with client_with(**OPENAI) as client:
        await _index(client, auth, namespace)
        response = await client.post("/v1/chat", json=body, headers=auth)
    answer = v1.ChatResponse.model_validate(response.json())
    assert (answer.answer, answer.model) == ("It costs 12 euros a month [1].", "llama3")
    assert answer.usage == v1.TokenUsage(input_tokens=50, output_tokens=7)
    assert [c.chunk_id for c in answer.citations] == ["price"]
    request = sent(httpx_mock)[0]
    assert request["model"] == "llama3"
    assert request["messages"][0]["role"] == "system"
    assert "[1] The Pro plan costs 12 euros a month." in request["messages"][0]["content"]
    assert request["messages"][-1] == {"role": "user", "content": "How much is Pro?"}


async def test_streamed_openai_tokens_are_relayed_in_order(
    client_with: Any, httpx_mock: HTTPXMock, auth: dict[str, str], namespace: str
) -> None:
    stream = (
        stream_chunk({"role": "assistant", "content": ""})
        + stream_chunk({"content": "12 euros"})
        + stream_chunk({"content": " a month [1]."}, finish="stop")
        + usage_chunk(40, 6)
        + "data: [DONE]\n\n"
    )
    response = await _ask_streamed(client_with, httpx_mock, auth, namespace, model_sends=stream)
    events = [
        (block.split("\n")[0].removeprefix("event: "), json.loads(block.split("data: ", 1)[1]))
        for block in response.text.strip().split("\n\n")
    ]
    assert events[:2] == [("token", {"delta": "12 euros"}), ("token", {"delta": " a month [1]."})]
    assert [name for name, _ in events[2:]] == ["citations", "done"]
    assert events[3][1]["usage"] == {"input_tokens": 40, "output_tokens": 6}
    assert sent(httpx_mock)[0]["stream"] is True
    request = sent(httpx_mock)[0]
    assert request["stream_options"] == {"include_usage": True}
    assert (request["model"], request["temperature"]) == ("qwen3", 0.2)
    assert [m["role"] for m in request["messages"]] == ["system", "user"]
    assert "[1] The Pro plan costs 12 euros a month." in request["messages"][0]["content"]


async def test_an_error_sent_inside_the_stream_ends_it_with_an_error_event(
    client_with: Any, httpx_mock: HTTPXMock, auth: dict[str, str], namespace: str
) -> None:
    # Servers report a failure after the 200 as a chunk holding ``error`` (as OpenAI does).
    failure = {"error": {"message": "model overloaded", "type": "server_error"}}
    stream = stream_chunk({"content": "12 euros"}) + f"data: {json.dumps(failure)}\n\n"
    response = await _ask_streamed(client_with, httpx_mock, auth, namespace, model_sends=stream)
    names = [block.split("\n")[0] for block in response.text.strip().split("\n\n")]
    assert names == ["event: token", "event: error"]
    assert '"error":"ProviderError"' in response.text


async def test_react_agent_searches_calculates_and_cites(
    client_with: Any, httpx_mock: HTTPXMock, auth: dict[str, str], namespace: str
) -> None:
    httpx_mock.add_response(
        url=COMPLETIONS,
        json=completion(
            None, tool_calls=[tool_call("c1", "search_documents", {"query": "Pro plan price"})]
        ),
    )
    httpx_mock.add_response(
        url=COMPLETIONS,
        json=completion(
            None, tool_calls=[tool_call("c2", "calculator", {"expression": "12 * 12"})]
        ),
    )
    httpx_mock.add_response(url=COMPLETIONS, json=completion("A year of Pro costs 144 euros [1]."))
    body = {
        "namespace": namespace,
        "message": "What does a year of Pro cost?",
        "config": {"agent_type": "react"},
    }
    async with client_with(**OPENAI) as client:
        await _index(client, auth, namespace)
        response = await client.post("/v1/chat", json=body, headers=auth)
    answer = v1.ChatResponse.model_validate(response.json())
    assert answer.answer == "A year of Pro costs 144 euros [1]."
    assert [c.chunk_id for c in answer.citations] == ["price"]
    assert answer.usage == v1.TokenUsage(input_tokens=150, output_tokens=21)
    requests = sent(httpx_mock)
    assert {tool["function"]["name"] for tool in requests[0]["tools"]} == {
        "search_documents",
        "calculator",
    }
    search_result = requests[1]["messages"][-1]
    assert search_result["role"] == "tool"
    assert "[1] The Pro plan costs 12 euros a month." in search_result["content"]
    assert requests[2]["messages"][-1] == {"role": "tool", "content": "144", "tool_call_id": "c2"}


async def test_react_agent_stops_after_its_step_limit(
    client_with: Any, httpx_mock: HTTPXMock, auth: dict[str, str], namespace: str
) -> None:
    looping = completion(None, tool_calls=[tool_call("c", "calculator", {"expression": "1+1"})])
    httpx_mock.add_response(url=COMPLETIONS, json=looping, is_reusable=True)
    body = {"namespace": namespace, "message": "Loop forever", "config": {"agent_type": "react"}}
    async with client_with(**OPENAI, react_max_steps=3) as client:
        response = await client.post("/v1/chat", json=body, headers=auth)
    assert response.status_code == 200
    assert len(httpx_mock.get_requests(url=COMPLETIONS)) == 3


async def test_the_react_tools_can_be_restricted_by_the_bot(
    client_with: Any, httpx_mock: HTTPXMock, auth: dict[str, str], namespace: str
) -> None:
    httpx_mock.add_response(url=COMPLETIONS, json=completion("Two."))
    body = {
        "namespace": namespace,
        "message": "1+1?",
        "config": {"agent_type": "react", "tools": ["calculator"]},
    }
    async with client_with(**OPENAI) as client:
        response = await client.post("/v1/chat", json=body, headers=auth)
    assert response.json()["answer"] == "Two."
    assert [t["function"]["name"] for t in sent(httpx_mock)[0]["tools"]] == ["calculator"]


async def test_an_unreachable_model_server_is_503(
    client_with: Any, httpx_mock: HTTPXMock, auth: dict[str, str], namespace: str
) -> None:
    httpx_mock.add_exception(httpx.ConnectError("refused"), url=COMPLETIONS, is_reusable=True)
    body = {"namespace": namespace, "message": "What is the price of Pro?"}
    async with client_with(**OPENAI, provider_max_retries=0) as client:
        await _index(client, auth, namespace)
        response = await client.post("/v1/chat", json=body, headers=auth)
    assert response.status_code == 503
    assert response.json() == {
        "error": "ProviderUnavailable",
        "detail": "The chat provider is unavailable; try again later.",
    }


def tool_call_stream(call_id: str, name: str, arguments: dict[str, Any]) -> str:
    start = {
        "index": 0,
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": ""},
    }
    rest = {"index": 0, "function": {"arguments": json.dumps(arguments)}}
    return (
        stream_chunk({"role": "assistant", "content": None, "tool_calls": [start]})
        + stream_chunk({"tool_calls": [rest]}, finish="tool_calls")
        + usage_chunk(30, 5)
        + "data: [DONE]\n\n"
    )


async def test_react_streams_the_final_answer_after_its_tool_calls(
    client_with: Any, httpx_mock: HTTPXMock, auth: dict[str, str], namespace: str
) -> None:
    sse = {"content-type": "text/event-stream"}
    searched = tool_call_stream("c1", "search_documents", {"query": "Pro price"})
    answered = (
        stream_chunk({"role": "assistant", "content": "12 euros"})
        + stream_chunk({"content": " [1]."}, finish="stop")
        + usage_chunk(60, 4)
        + "data: [DONE]\n\n"
    )
    httpx_mock.add_response(url=COMPLETIONS, content=searched.encode(), headers=sse)
    httpx_mock.add_response(url=COMPLETIONS, content=answered.encode(), headers=sse)
    body = {"namespace": namespace, "message": "Price of Pro?", "config": {"agent_type": "react"}}
    async with client_with(**OPENAI) as client:
        await _index(client, auth, namespace)
        response = await client.post("/v1/chat/stream", json=body, headers=auth)
    events = [
        (block.split("\n")[0].removeprefix("event: "), json.loads(block.split("data: ", 1)[1]))
        for block in response.text.strip().split("\n\n")
    ]
    assert events[:2] == [("token", {"delta": "12 euros"}), ("token", {"delta": " [1]."})]
    assert events[2] == ("citations", {"citations": [events[2][1]["citations"][0]]})
    assert events[2][1]["citations"][0]["chunk_id"] == "price"
    done = dict(events[3][1])
    # The react agent's search, run as a tool call, is counted as retrieval.
    assert done.pop("timings")["retrieval_ms"] > 0
    assert (events[3][0], done) == (
        "done",
        {"usage": {"input_tokens": 90, "output_tokens": 9}, "model": "qwen3", "answered": True},
    )
