"""``POST /v1/chat`` and ``POST /v1/chat/stream``."""

from collections.abc import AsyncIterator

import structlog
from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from agent_service.chains.chat import answer, answer_stream
from agent_service.errors import ERROR_RESPONSES, AppError
from agent_service.generation.answers import AnswerComplete, AnswerEvent, AnswerStream
from agent_service.generation.providers import classify_provider_error, provider_errors
from agent_service.routing.dependencies import CallerDep, RuntimeDep
from agent_service.routing.limits import check_at_most
from chatsphere_contracts.v1 import (
    ChatRequest,
    ChatResponse,
    StreamCitations,
    StreamDone,
    StreamError,
    StreamEventName,
    StreamToken,
    format_sse,
)
from chatsphere_kit.streaming import coalesced

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["chat"], responses=ERROR_RESPONSES)
_log = structlog.get_logger(__name__)


@router.post("/chat", response_model=ChatResponse)
async def chat(body: ChatRequest, caller: CallerDep, runtime: RuntimeDep) -> ChatResponse:
    """Answer from the namespace's passages, citing the ones used."""
    caller.require_namespace(body.namespace)
    check_at_most("message characters", len(body.message), runtime.settings.max_message_chars)
    async with provider_errors("chat"):
        return await answer(runtime, body)


@router.post(
    "/chat/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events."}},
)
async def chat_stream(
    body: ChatRequest, caller: CallerDep, runtime: RuntimeDep
) -> StreamingResponse:
    """``token`` events as the answer is produced, then ``citations`` and ``done``, or ``error``."""
    caller.require_namespace(body.namespace)
    check_at_most("message characters", len(body.message), runtime.settings.max_message_chars)
    events = answer_stream(runtime, body, stream=True)
    # Wait for the first piece before answering 200, so that a provider down from the start
    # gets a proper 502/503/504 instead of a stream holding only an error.
    async with provider_errors("chat"):
        first = await anext(events)
    return StreamingResponse(
        coalesced(_sse(first, events)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _sse(first: AnswerEvent, rest: AnswerStream) -> AsyncIterator[str]:
    try:
        yield _frame(first)
        async for event in rest:
            yield _frame(event)
    except Exception as exc:  # noqa: BLE001 - the status is sent; the error goes in the stream
        error = exc if isinstance(exc, AppError) else classify_provider_error(exc, "chat")
        _log.warning("chat_stream_failed", error=error.code, exc_type=type(exc).__name__)
        yield format_sse(StreamEventName.ERROR, StreamError(error=error.code, detail=error.detail))
    finally:
        await rest.aclose()


def _frame(event: AnswerEvent) -> str:
    if isinstance(event, AnswerComplete):
        citations = format_sse(
            StreamEventName.CITATIONS, StreamCitations(citations=event.citations)
        )
        done = format_sse(
            StreamEventName.DONE,
            StreamDone(
                usage=event.usage,
                model=event.model,
                answered=event.answered,
                timings=event.timings,
            ),
        )
        return citations + done
    return format_sse(StreamEventName.TOKEN, StreamToken(delta=event))
