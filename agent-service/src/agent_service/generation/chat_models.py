"""LangChain chat models for the configured provider, built from a bot's configuration."""

import httpx
from langchain_core.language_models import BaseChatModel
from langchain_google_genai import ChatGoogleGenerativeAI
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from agent_service.config import ChatProviderKind, Settings
from agent_service.gemini_transport import gemini_client_args
from agent_service.observability.instrumentation import LlmMetricsCallback

__all__ = ["ChatModelFactory"]

_CACHE_SIZE = 32
# Used when the bot's configuration gives none: low, for answers that stay close to the passages.
DEFAULT_TEMPERATURE = 0.2
# A reachable server accepts a connection at once; the read timeout (a setting) covers the
# answer itself.
_CONNECT_TIMEOUT_S = 5.0


class ChatModelFactory:
    """Makes (and keeps a few of) the chat models requests ask for; each holds its HTTP client."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._models: dict[tuple[str, float], BaseChatModel] = {}
        self._metrics = LlmMetricsCallback(settings.chat_provider.value)
        # One HTTP client for the OpenAI-compatible upstream, shared by every model and closed
        # at shutdown (the SDK would otherwise make one per model).
        self._openai_http: httpx.AsyncClient | None = None
        if settings.chat_provider is ChatProviderKind.OPENAI:
            # Every answer being streamed holds one connection for its whole length: httpx's
            # default pool (100) would make the next streams wait for a whole answer.
            connections = settings.provider_max_connections
            self._openai_http = httpx.AsyncClient(
                timeout=httpx.Timeout(settings.provider_timeout_s, connect=_CONNECT_TIMEOUT_S),
                limits=httpx.Limits(
                    max_connections=connections, max_keepalive_connections=connections
                ),
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
        key = (model or self.default_model(), DEFAULT_TEMPERATURE)
        if temperature is not None:
            key = (key[0], temperature)
        if key not in self._models:
            if len(self._models) >= _CACHE_SIZE:
                self._models.pop(next(iter(self._models)))
            self._models[key] = self._build(*key)
        return self._models[key]

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
            # Local servers (Ollama, vLLM) take any key; the client insists on one.
            openai_api_key=settings.openai_api_key or SecretStr("not-needed"),
            temperature=temperature,
            http_async_client=self._openai_http,
            max_retries=settings.provider_max_retries,
            stream_usage=True,
            callbacks=[self._metrics],
        )
