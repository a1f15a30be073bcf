"""Request dependencies: the calling service (by its key) and the agent's runtime."""

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agent_service.config import DEVELOPMENT_API_KEY, ServiceKey, Settings
from agent_service.errors import Forbidden, Unauthorized
from agent_service.runtime import AgentRuntime

__all__ = [
    "NAMESPACE_SEPARATORS",
    "Caller",
    "CallerDep",
    "RuntimeDep",
    "authenticate",
    "get_caller",
    "get_runtime",
    "namespace_in",
]

# Where one segment of a namespace ends: ``team`` covers ``team``, ``team-a`` and ``team:a``,
# never ``teammate-other``.
NAMESPACE_SEPARATORS = "-:."


def namespace_in(namespace: str, prefix: str) -> bool:
    """Whether ``namespace`` is ``prefix`` or lies under it, whole segments only: the prefix
    must end at a separator (its own last character, or the namespace's next one)."""
    if not prefix or not namespace.startswith(prefix):
        return False
    rest = namespace[len(prefix) :]
    return not rest or prefix[-1] in NAMESPACE_SEPARATORS or rest[0] in NAMESPACE_SEPARATORS


_bearer = HTTPBearer(auto_error=False, description="A service key issued to the calling team.")


@dataclass(frozen=True, slots=True)
class Caller:
    """A service that presented a valid key."""

    name: str
    namespace_prefixes: tuple[str, ...] | None

    def require_namespace(self, namespace: str) -> None:
        """403 unless the key may use ``namespace``."""
        if self.namespace_prefixes is None:
            return
        if not any(namespace_in(namespace, prefix) for prefix in self.namespace_prefixes):
            raise Forbidden(f"The service key '{self.name}' may not use namespace '{namespace}'.")


def authenticate(settings: Settings, presented: str) -> Caller | None:
    """The caller whose key hashes to a configured digest (compared in constant time)."""
    digest = hashlib.sha256(presented.encode()).hexdigest()
    for key in settings.api_keys:
        if hmac.compare_digest(digest, key.sha256.lower()):
            return _caller(key)
    if settings.accepts_development_key and hmac.compare_digest(presented, DEVELOPMENT_API_KEY):
        return Caller(name="development", namespace_prefixes=None)
    return None


def _caller(key: ServiceKey) -> Caller:
    prefixes = None if key.namespace_prefixes is None else tuple(key.namespace_prefixes)
    return Caller(name=key.name, namespace_prefixes=prefixes)


async def get_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """401 unless the request carries a known service key."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized()
    caller = authenticate(request.app.state.settings, credentials.credentials)
    if caller is None:
        raise Unauthorized("The service key is not valid.")
    return caller


async def get_runtime(request: Request) -> AgentRuntime:
    """The embedder, store and chat models built at start-up (async: no threadpool hop)."""
    runtime: AgentRuntime = request.app.state.runtime
    return runtime


CallerDep = Annotated[Caller, Depends(get_caller)]
RuntimeDep = Annotated[AgentRuntime, Depends(get_runtime)]
