"""``/api/v1/openai``: ``GET /models`` and ``POST /chat/completions`` with a secret bot key.

A door to the owner's chat turn: it authenticates the key, stores the request's history as a
conversation of its end user, runs the turn (answered at once or streamed) and translates the
answer; every rule of the turn (quota, history, storing, citations) is the turn's own.
"""

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from chatsphere_kit.streaming import coalesced
from core_service.agent_client.dependencies import AgentDep
from core_service.auth.dependencies import AppSettings
from core_service.chat import turn as chat_turn
from core_service.chat.streaming import open_stream
from core_service.database import SessionDep, SessionmakerDep
from core_service.openai_compat import service as openai_service
from core_service.openai_compat.dependencies import SecretKeyCaller
from core_service.openai_compat.exceptions import UnsupportedParameter
from core_service.openai_compat.schemas import (
    OPENAI_ERROR_RESPONSES,
    SUPPORTED_PARAMETERS,
    ChatCompletion,
    ChatCompletionCreate,
    Model,
    ModelList,
)
from core_service.openai_compat.streaming import ChunkStream, openai_events

__all__ = ["OPENAI_PREFIX", "router"]

OPENAI_PREFIX = "/openai"

router = APIRouter(
    prefix=OPENAI_PREFIX, tags=["openai-compatible"], responses=OPENAI_ERROR_RESPONSES
)


@router.get("/models")
async def list_models(caller: SecretKeyCaller, session: SessionDep) -> ModelList:
    """The key's bot, as OpenAI's list of models."""
    bot = await openai_service.key_bot(session, caller=caller, model=None)
    return ModelList(data=[openai_service.model_of(bot)])


@router.get("/models/{model}")
async def get_model(model: str, caller: SecretKeyCaller, session: SessionDep) -> Model:
    """The key's bot by its id; 404 ``model_not_found`` for any other."""
    bot = await openai_service.key_bot(session, caller=caller, model=model)
    return openai_service.model_of(bot)


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={200: {"content": {"text/event-stream": {}}, "description": "With `stream`."}},
)
async def create_chat_completion(
    body: ChatCompletionCreate,
    caller: SecretKeyCaller,
    session: SessionDep,
    sessions: SessionmakerDep,
    settings: AppSettings,
    agent: AgentDep,
) -> ChatCompletion | StreamingResponse:
    """Answer the last user message with the bot, the earlier messages as its history."""
    unsupported = body.unsupported()
    if unsupported:
        raise UnsupportedParameter(
            f"Unsupported parameter(s): {', '.join(unsupported)}. This endpoint takes "
            f"{', '.join(SUPPORTED_PARAMETERS)} (n = 1 only)."
        )
    bot, owner = await openai_service.key_bot_and_owner(session, caller=caller, model=body.model)
    conversation = await openai_service.open_conversation(
        session, bot=bot, body=body, settings=settings
    )
    if not body.stream:
        turn = await chat_turn.take_turn(
            session,
            agent,
            user=owner,
            conversation_id=conversation.id,
            content=body.question,
            settings=settings,
            overrides=body.overrides(),
        )
        return openai_service.completion(model=body.model, answer=turn.assistant_message)
    frames = await open_stream(
        session,
        sessions,
        agent,
        user=owner,
        conversation_id=conversation.id,
        content=body.question,
        settings=settings,
        overrides=body.overrides(),
    )
    chunks = ChunkStream(
        completion_id=openai_service.completion_id(conversation.id),
        model=body.model,
        include_usage=bool(body.stream_options and body.stream_options.include_usage),
    )
    return StreamingResponse(
        coalesced(openai_events(frames, chunks)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
