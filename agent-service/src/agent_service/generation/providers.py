"""Maps failures of outside providers to 502/503/504 errors with a clear body."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import structlog

from agent_service.errors import AppError, ProviderError, ProviderTimeout, ProviderUnavailable

__all__ = ["classify_provider_error", "is_retryable", "provider_errors", "status_of"]

_log = structlog.get_logger(__name__)
_RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@asynccontextmanager
async def provider_errors(what: str) -> AsyncIterator[None]:
    """Turn any provider failure inside the block into an ``AppError`` naming ``what``."""
    try:
        yield
    except AppError:
        raise
    except Exception as exc:
        error = classify_provider_error(exc, what)
        _log.warning(
            "provider_failed", provider=what, exc_type=type(exc).__name__, status=error.code
        )
        raise error from exc


def classify_provider_error(exc: BaseException, what: str) -> AppError:
    """504 for timeouts, 503 for unreachable or overloaded, 502 for any other failure."""
    if _named(exc, "Timeout"):
        return ProviderTimeout(f"The {what} provider did not answer in time.")
    status = status_of(exc)
    unreachable = any(
        isinstance(error, httpx.TransportError | OSError | asyncpg.PostgresConnectionError)
        for error in _chain(exc)
    ) or _named(exc, "Connection")
    if unreachable or status in {429, 503}:
        return ProviderUnavailable(f"The {what} provider is unavailable; try again later.")
    suffix = f" (status {status})" if status else ""
    return ProviderError(f"The {what} provider failed{suffix}.")


def status_of(exc: BaseException) -> int | None:
    """The HTTP status a provider error carries, whichever SDK raised it (or what it wraps)."""
    for error in _chain(exc):
        for attribute in ("status_code", "code", "status"):
            value = getattr(error, attribute, None)
            if isinstance(value, int) and 100 <= value <= 599:
                return value
        response = getattr(error, "response", None)
        value = getattr(response, "status_code", None)
        if isinstance(value, int):
            return value
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    # LangChain adapters wrap the SDK's error (``raise … from e``): look through the causes.
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 8:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def is_retryable(exc: BaseException) -> bool:
    """Worth another try: rate limits, server errors, timeouts, dropped connections."""
    if _named(exc, "Timeout") or any(
        isinstance(error, httpx.TransportError) for error in _chain(exc)
    ):
        return True
    return status_of(exc) in _RETRYABLE_STATUSES or _named(exc, "Connection")


def _named(exc: BaseException, fragment: str) -> bool:
    # SDKs wrap transport failures in their own types (openai.APITimeoutError, …).
    return any(fragment in cls.__name__ for error in _chain(exc) for cls in type(error).__mro__)
