"""LangChain chat models for the configured provider, built from a bot's configuration."""

from typing import Any, cast

import httpx
from httpx_aiohttp import AiohttpTransport
from langchain_core.language_models import BaseChatModel
from langchain_google_genai import ChatGoogleGenerativeAI
from langchain_openai import ChatOpenAI
from openai import AsyncOpenAI
from pydantic import SecretStr

from agent_service.config import ChatProviderKind, Settings
from agent_service.gemini_transport import gemini_client_args
from agent_service.generation.text_streams import (
    OpenAITextStream,
    TextStream,
    langchain_text_stream,
)
from agent_service.observability.instrumentation import LlmMetricsCallback

__all__ = ["ChatModelFactory"]

_CACHE_SIZE = 32
# Used when the bot's configuration gives none: low, for answers that stay close to the passages.
DEFAULT_TEMPERATURE = 0.2
# A reachable server accepts a connection at once; the read timeout (a setting) covers the
# answer itself.
_CONNECT_TIMEOUT_S = 5.0
_KEEPALIVE_EXPIRY_S = 2.0


class ChatModelFactory:
    """Makes (and keeps a few of) the chat models requests ask for; each holds its HTTP client."""

    def __init__(
        self, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        """``transport`` replaces the connection pool to an OpenAI-compatible server (tests)."""
        self._settings = settings
        self._models: dict[tuple[str, float], BaseChatModel] = {}
        self._metrics = LlmMetricsCallback(settings.chat_provider.value)
        # One HTTP client for the OpenAI-compatible upstream, shared by every model and closed
        # at shutdown (the SDK would otherwise make one per model).
        self._openai_http: httpx.AsyncClient | None = None
        self._openai: AsyncOpenAI | None = None
        if settings.chat_provider is ChatProviderKind.OPENAI:
            # Every answer being streamed holds one connection for its whole length: httpx's
            # default pool (100) would make the next streams wait for a whole answer.
            connections = settings.provider_max_connections
            limits = httpx.Limits(
                max_connections=connections,
                max_keepalive_connections=connections,
                # Dropped before a model server behind uvicorn (vLLM, 5 s) closes it: counted
                # from when we read the last response, a busy process would reuse one late.
                keepalive_expiry=_KEEPALIVE_EXPIRY_S,
            )
            # aiohttp's pool and its C parser: httpx's own pool looks at every open connection
            # each time a request starts or ends, and parses each streamed piece in Python;
            # with hundreds of answers streaming at once that was a third of the agent's CPU.
            self._openai_http = httpx.AsyncClient(
                timeout=httpx.Timeout(settings.provider_timeout_s, connect=_CONNECT_TIMEOUT_S),
                transport=transport or AiohttpTransport(limits=limits),
            )
            self._openai = AsyncOpenAI(
                base_url=settings.openai_base_url,
                api_key=_openai_key(settings),
                # The SDK types its client as its own httpx fork's; it uses only the interface
                # httpx's client shares, and LangChain hands it this same client.
                http_client=cast(Any, self._openai_http),
                max_retries=settings.provider_max_retries,
            )

    async def aclose(self) -> None:
        """Close the upstream HTTP client."""
        if self._openai_http is not None:
            await self._openai_http.aclose()

    def default_model(self) -> str:
        """The model used when the bot names none."""
        if self._settings.chat_provider is ChatProviderKind.GEMINI:
            return self._settings.gemini_chat_model
        return self._settings.openai_chat_model

    def get(self, *, model: str | None, temperature: float | None) -> BaseChatModel:
        """The chat model for this bot's model name and temperature."""
        key = _key(model or self.default_model(), temperature)
        if key not in self._models:
            if len(self._models) >= _CACHE_SIZE:
                self._models.pop(next(iter(self._models)))
            self._models[key] = self._build(*key)
        return self._models[key]

    def text_stream(self, *, model: str | None, temperature: float | None) -> TextStream:
        """How to stream an answer's text from this model: an OpenAI-compatible server's events
        are read directly, other providers stream through their LangChain model."""
        if self._openai is None:
            return langchain_text_stream(self.get(model=model, temperature=temperature))
        name, temperature_used = _key(model or self.default_model(), temperature)
        return OpenAITextStream(
            self._openai,
            model=name,
            temperature=temperature_used,
            provider=self._settings.chat_provider.value,
        )

    def _build(self, model: str, temperature: float) -> BaseChatModel:
        settings = self._settings
        if settings.chat_provider is ChatProviderKind.GEMINI:
            assert settings.google_api_key is not None  # noqa: S101 - checked by Settings
            return ChatGoogleGenerativeAI(
                model=model,
                google_api_key=settings.google_api_key,
                temperature=temperature,
                max_output_tokens=settings.max_output_tokens,
                timeout=settings.provider_timeout_s,
                # The adapter passes this on as google-genai's attempts, which count the first.
                max_retries=settings.provider_max_retries + 1,
                callbacks=[self._metrics],
                base_url=settings.gemini_base_url,
                client_args=gemini_client_args(),
            )
        return ChatOpenAI(
            model_name=model,
            openai_api_base=settings.openai_base_url,
            openai_api_key=SecretStr(_openai_key(settings)),
            temperature=temperature,
            http_async_client=self._openai_http,
            max_retries=settings.provider_max_retries,
            stream_usage=True,
            callbacks=[self._metrics],
        )


def _key(model: str, temperature: float | None) -> tuple[str, float]:
    return model, DEFAULT_TEMPERATURE if temperature is None else temperature


def _openai_key(settings: Settings) -> str:
    # Local servers (Ollama, vLLM) take any key; the client insists on one.
    key = settings.openai_api_key
    return key.get_secret_value() if key is not None else "not-needed"
