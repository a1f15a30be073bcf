"""OpenAI's chat completion bodies, as far as a bot can honour them."""

from http import HTTPStatus
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from chatsphere_contracts.v1 import MAX_MESSAGE_CHARS, StorableText
from core_service.bots.configuration import BotConfigurationUpdate
from core_service.conversations.schemas import CitationRead
from core_service.public.schemas import EndUserId

__all__ = [
    "OPENAI_ERROR_RESPONSES",
    "SUPPORTED_PARAMETERS",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionCreate",
    "ChunkChoice",
    "ChunkDelta",
    "CompletionChoice",
    "CompletionMessage",
    "CompletionUsage",
    "Model",
    "ModelList",
    "OpenAIErrorBody",
    "RequestMessage",
]

SUPPORTED_PARAMETERS = ("model", "messages", "stream", "stream_options", "temperature", "user", "n")


class TextPart(BaseModel):
    """A text part of a message's content (other kinds, such as images, are refused)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["text"]
    text: StorableText


class RequestMessage(BaseModel):
    """One message of the request; tool calls and tool results are refused."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "developer", "user", "assistant"]
    content: StorableText | list[TextPart]
    name: str | None = Field(default=None, max_length=64)

    @property
    def text(self) -> str:
        """The content as one text."""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)

    @model_validator(mode="after")
    def _within_message_size(self) -> Self:
        if len(self.text) > MAX_MESSAGE_CHARS:
            raise ValueError(f"a message may have at most {MAX_MESSAGE_CHARS} characters")
        return self


class StreamOptions(BaseModel):
    """``stream_options``: only ``include_usage``."""

    model_config = ConfigDict(extra="forbid")

    include_usage: bool = False


class ChatCompletionCreate(BaseModel):
    """``POST /chat/completions``. Unknown parameters are kept so that the route can refuse
    them by name (``UnsupportedParameter``) instead of ignoring them."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(max_length=200, description="The bot's id, as `GET /models` lists it.")
    messages: list[RequestMessage] = Field(
        min_length=1,
        description="Earlier messages are the history; the last, a user message, the question. "
        "System and developer messages are not used: the bot's own system prompt is.",
    )
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(
        default=None, description="Within the bounds of the bot's `temperature` setting."
    )
    user: EndUserId | None = Field(
        default=None, description="Your id for the end user; the conversation is stored as theirs."
    )
    n: Annotated[int, Field(ge=1)] = 1

    @field_validator("temperature")
    @classmethod
    def _within_the_bots_bounds(cls, value: float | None) -> float | None:
        # The bounds are the bot configuration's own, so that the owner's settings and this
        # door never disagree.
        if value is not None:
            try:
                BotConfigurationUpdate.model_validate({"temperature": value})
            except ValidationError as error:
                raise ValueError(error.errors()[0]["msg"]) from None
        return value

    @model_validator(mode="after")
    def _ends_with_a_question(self) -> Self:
        last = self.messages[-1]
        if last.role != "user" or not last.text.strip():
            raise ValueError("the last message must be the user's question, with some text")
        return self

    @property
    def question(self) -> str:
        """The last message: what the bot answers."""
        return self.messages[-1].text

    @property
    def history(self) -> list[RequestMessage]:
        """The user and assistant messages before the question, oldest first."""
        return [m for m in self.messages[:-1] if m.role in ("user", "assistant") and m.text]

    def overrides(self) -> BotConfigurationUpdate | None:
        """The bot settings this request adjusts for its turn."""
        if self.temperature is None:
            return None
        return BotConfigurationUpdate(temperature=self.temperature)

    def unsupported(self) -> list[str]:
        """Parameters given (not null) that this endpoint does not honour."""
        extra: dict[str, Any] = self.model_extra or {}
        given = sorted(name for name, value in extra.items() if value is not None)
        return given + (["n"] if self.n > 1 else [])


class CompletionUsage(BaseModel):
    """Tokens, as OpenAI counts them."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class CompletionMessage(BaseModel):
    """The answer, with the passages it cites (``citations`` is ChatSphere's addition)."""

    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None
    citations: list[CitationRead]


class CompletionChoice(BaseModel):
    """The one choice of a completion."""

    index: int = 0
    message: CompletionMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class ChatCompletion(BaseModel):
    """``object: chat.completion``; ``conversation_id`` names the stored conversation."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: CompletionUsage
    system_fingerprint: None = None
    conversation_id: str


class ChunkDelta(BaseModel):
    """What a chunk adds to the message; the last one carries the citations."""

    role: Literal["assistant"] | None = None
    content: str | None = None
    citations: list[CitationRead] | None = None

    @model_serializer(mode="wrap")
    def _only_what_is_added(self, serialize: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # As OpenAI's deltas: a field appears only in the chunk that sets it.
        dumped: dict[str, Any] = serialize(self)
        return {name: value for name, value in dumped.items() if value is not None}


class ChunkChoice(BaseModel):
    """The one choice of a chunk."""

    index: int = 0
    delta: ChunkDelta
    finish_reason: Literal["stop"] | None = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    """``object: chat.completion.chunk``, one per server-sent event."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: CompletionUsage | None = None
    system_fingerprint: None = None


class Model(BaseModel):
    """A bot, as OpenAI lists a model."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "chatsphere"


class ModelList(BaseModel):
    """``GET /models``: the key's bot."""

    object: Literal["list"] = "list"
    data: list[Model]


class OpenAIError(BaseModel):
    """What went wrong, as OpenAI says it."""

    message: str
    type: str = Field(description="invalid_request_error, authentication_error, …")
    code: str | None = None
    param: str | None = None


class OpenAIErrorBody(BaseModel):
    """Every error answer of this endpoint."""

    error: OpenAIError


OPENAI_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": OpenAIErrorBody, "description": HTTPStatus(status).phrase}
    for status in (400, 401, 403, 404, 413, 415, 422, 429, 500, 503)
}
"""OpenAPI ``responses`` of the endpoint's routes: OpenAI's error shape, not ``ErrorBody``."""
