"""Picks the answer path for a chat request, times it, and collects streamed answers."""

from dataclasses import replace

from agent_service.chains.rag import LlmChat, extractive_answer_stream, llm_answer_stream
from agent_service.chains.react import react_answer_stream
from agent_service.config import ChatProviderKind
from agent_service.generation.answers import AnswerClock, AnswerComplete, AnswerStream
from agent_service.runtime import AgentRuntime
from chatsphere_contracts.v1 import AgentType, ChatRequest, ChatResponse

__all__ = ["answer", "answer_stream"]

# Passages used when the bot's configuration gives no top_k (core always sends the bot's own).
DEFAULT_TOP_K = 5


def answer_stream(runtime: AgentRuntime, request: ChatRequest, *, stream: bool) -> AnswerStream:
    """The answer as it is produced: text pieces, then one ``AnswerComplete`` with its timings."""
    clock = AnswerClock()
    return _timed(_answer_path(runtime, request, stream=stream, clock=clock), clock)


async def _timed(events: AnswerStream, clock: AnswerClock) -> AnswerStream:
    try:
        async for event in events:
            if isinstance(event, AnswerComplete):
                yield replace(event, timings=clock.timings())
            else:
                clock.first_piece()
                yield event
    finally:
        await events.aclose()


def _answer_path(
    runtime: AgentRuntime, request: ChatRequest, *, stream: bool, clock: AnswerClock
) -> AnswerStream:
    settings = runtime.settings
    top_k = request.config.top_k or DEFAULT_TOP_K
    if settings.chat_provider is ChatProviderKind.EXTRACTIVE:
        # Without a model there is no tool calling: 'react' answers like 'rag'.
        return extractive_answer_stream(
            runtime.retriever, request, top_k=top_k, clock=clock, stream=stream
        )
    model_name = request.config.model or runtime.chat_models.default_model()
    temperature = request.config.temperature
    chat = LlmChat(
        retriever=runtime.retriever,
        model=runtime.chat_models.get(model=model_name, temperature=temperature),
        text_stream=runtime.chat_models.text_stream(model=model_name, temperature=temperature),
        model_name=model_name,
        top_k=top_k,
        max_steps=settings.react_max_steps,
        stream=stream,
        clock=clock,
    )
    if request.config.agent_type is AgentType.REACT:
        return react_answer_stream(chat, request)
    return llm_answer_stream(chat, request)


async def answer(runtime: AgentRuntime, request: ChatRequest) -> ChatResponse:
    """The whole answer at once."""
    pieces: list[str] = []
    async for event in answer_stream(runtime, request, stream=False):
        if isinstance(event, AnswerComplete):
            return ChatResponse(
                answer="".join(pieces),
                citations=event.citations,
                usage=event.usage,
                model=event.model,
                answered=event.answered,
                timings=event.timings,
            )
        pieces.append(event)
    raise RuntimeError("the answer stream ended without its summary")
