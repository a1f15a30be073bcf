"""Bounded, retried provider calls: every attempt has a timeout; 429/5xx are tried again."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from agent_service.config import Settings
from agent_service.generation.providers import is_retryable

__all__ = ["CallPolicy"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CallPolicy:
    """How long one attempt may take and how often a failed one is repeated."""

    timeout_s: float
    max_retries: int
    backoff_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> "CallPolicy":
        """The policy configured by ``AGENT_PROVIDER_*``."""
        return cls(
            timeout_s=settings.provider_timeout_s,
            max_retries=settings.provider_max_retries,
            backoff_s=settings.provider_retry_backoff_s,
        )

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run ``operation`` with a timeout per attempt, retrying transient failures."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=wait_exponential_jitter(
                initial=self.backoff_s, max=max(self.backoff_s, 8.0), jitter=self.backoff_s
            ),
            retry=retry_if_exception(is_retryable),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                async with asyncio.timeout(self.timeout_s):
                    return await operation()
        raise AssertionError("unreachable: tenacity reraises the last failure")
