"""The ``react`` agent type: a LangChain tool-calling agent, bounded in model calls."""

from collections.abc import Sequence
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import ModelCallLimitMiddleware
from langchain.agents.middleware.types import InputAgentState
from langchain_core.messages import AIMessage, AIMessageChunk, AnyMessage, HumanMessage
from langchain_core.messages.ai import UsageMetadata, add_usage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool

from agent_service.chains.rag import LlmChat
from agent_service.generation.answers import (
    AnswerComplete,
    AnswerStream,
    citations_for_answer,
    estimate_tokens,
    history_messages,
)
from agent_service.tools.calculator import calculator_tool
from agent_service.tools.retrieval import SearchLog, search_tool
from chatsphere_contracts.v1 import ChatRequest, TokenUsage

__all__ = ["REACT_RULES", "react_answer_stream"]

REACT_RULES = (
    "Use the search_documents tool to find passages before answering questions about the "
    "documents, and the calculator for arithmetic. Cite passages as [n] with the numbers the "
    "tool gave. If the documents do not cover the question, say so plainly."
)


async def react_answer_stream(chat: LlmChat, request: ChatRequest) -> AnswerStream:
    """The agent's answer; when streaming, its tokens as the model produces them."""
    log = SearchLog()
    agent = create_agent(
        chat.model,
        _tools(chat, request, log=log),
        system_prompt=f"{request.config.system_prompt or chat.default_prompt}\n\n{REACT_RULES}",
        middleware=[ModelCallLimitMiddleware(run_limit=chat.max_steps, exit_behavior="end")],
    )
    messages: list[AnyMessage | dict[str, Any]] = [
        *history_messages(request),
        HumanMessage(request.message),
    ]
    state = InputAgentState(messages=messages)
    # The middleware ends the run after max_steps model calls; a step passes through up to four
    # graph nodes (limit check, model, tools, routing), so the recursion limit is only a backstop.
    config = RunnableConfig(recursion_limit=5 * chat.max_steps + 5)
    pieces: list[str] = []
    usage: UsageMetadata | None = None
    if chat.stream:
        async for chunk, _ in agent.astream(state, config=config, stream_mode="messages"):
            if isinstance(chunk, AIMessageChunk):
                # Several model calls: add up their usage rather than merging their chunks.
                usage = add_usage(usage, chunk.usage_metadata) if chunk.usage_metadata else usage
                if chunk.text and not chunk.tool_call_chunks:
                    pieces.append(chunk.text)
                    yield chunk.text
    else:
        text, usage = await _invoke(agent, state, config)
        pieces.append(text)
        yield text
    answer = "".join(pieces)
    yield AnswerComplete(
        citations=citations_for_answer(answer, log.passages) if log.passages else [],
        usage=_token_usage(usage, request, answer),
        model=chat.model_name,
    )


async def _invoke(
    agent: Runnable[Any, Any], state: InputAgentState, config: RunnableConfig
) -> tuple[str, UsageMetadata | None]:
    result = await agent.ainvoke(state, config=config)
    replies = [m for m in result["messages"] if isinstance(m, AIMessage)]
    usage: UsageMetadata | None = None
    for reply in replies:
        usage = add_usage(usage, reply.usage_metadata) if reply.usage_metadata else usage
    return (replies[-1].text if replies else ""), usage


def _tools(chat: LlmChat, request: ChatRequest, *, log: SearchLog) -> Sequence[BaseTool]:
    document_ids = request.filter.document_ids if request.filter else None
    available = [
        search_tool(
            chat.retriever,
            namespace=request.namespace,
            top_k=chat.top_k,
            document_ids=document_ids,
            log=log,
            clock=chat.clock,
        ),
        calculator_tool(),
    ]
    wanted = request.config.tools
    return [tool for tool in available if wanted is None or tool.name in wanted]


def _token_usage(usage: UsageMetadata | None, request: ChatRequest, answer: str) -> TokenUsage:
    if usage:
        return TokenUsage(input_tokens=usage["input_tokens"], output_tokens=usage["output_tokens"])
    return TokenUsage(
        input_tokens=estimate_tokens(request.message), output_tokens=estimate_tokens(answer)
    )
