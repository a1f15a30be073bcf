"""The Model Context Protocol at ``/mcp``: the ``retrieve`` and ``chat`` tools over streamable HTTP.

The tools run the same code, keys, namespace prefixes and limits as ``/v1/retrieve`` and
``/v1/chat``; a refused call is an MCP error result (``isError``), never an HTTP 500.
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from typing import Annotated

from fastapi import FastAPI
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from agent_service import __version__
from agent_service.chains.chat import answer
from agent_service.errors import AppError, Unauthorized
from agent_service.generation.providers import provider_errors
from agent_service.retrieval.store import StoredMatch
from agent_service.routing.dependencies import Caller, authenticate
from agent_service.routing.limits import check_at_most
from agent_service.runtime import AgentRuntime
from chatsphere_contracts.v1 import ChatRequest, Citation, RetrieveMatch, StorableText
from chatsphere_contracts.v1.index import Namespace
from chatsphere_contracts.v1.limits import MAX_MESSAGE_CHARS, MAX_QUERY_CHARS, MAX_TOP_K

__all__ = ["MCP_PATH", "ChatResult", "RetrieveResult", "mount_mcp"]

MCP_PATH = "/mcp"
# Where the wrapper leaves the authenticated caller for the tools: the SDK hands each tool
# the HTTP request it came in, while a contextvar set here would not reach its task group.
_CALLER_SCOPE_KEY = "agent_service.mcp_caller"


class RetrieveResult(BaseModel):
    """The ``retrieve`` tool's output: the matching passages, best first."""

    matches: list[RetrieveMatch]


class ChatResult(BaseModel):
    """The ``chat`` tool's output: the answer and the passages it cites."""

    answer: str
    citations: list[Citation]
    answered: bool = Field(description="False when no passage was relevant enough.")


def build_mcp_server(app: FastAPI) -> MCPServer:
    """The MCP server whose tools use the app's runtime (built by its lifespan)."""
    server: MCPServer = MCPServer(name="chatsphere-agent", version=__version__)

    @server.tool(description="Hybrid search inside one namespace; the best passages first.")
    async def retrieve(
        namespace: Namespace,
        query: Annotated[StorableText, Field(min_length=1, max_length=MAX_QUERY_CHARS)],
        ctx: Context,
        top_k: Annotated[int, Field(ge=1, le=MAX_TOP_K)] = 5,
    ) -> RetrieveResult:
        runtime = _allowed_runtime(app, ctx, namespace)
        with _as_tool_error():
            check_at_most("query characters", len(query), runtime.settings.max_query_chars)
            async with provider_errors("retrieval"):
                found = await runtime.retriever.retrieve(namespace, query, top_k=top_k)
        return RetrieveResult(matches=[_match(item) for item in found])

    @server.tool(description="Answer a message from a namespace's passages, citing them.")
    async def chat(
        namespace: Namespace,
        message: Annotated[StorableText, Field(min_length=1, max_length=MAX_MESSAGE_CHARS)],
        ctx: Context,
    ) -> ChatResult:
        runtime = _allowed_runtime(app, ctx, namespace)
        with _as_tool_error():
            check_at_most("message characters", len(message), runtime.settings.max_message_chars)
            async with provider_errors("chat"):
                reply = await answer(runtime, ChatRequest(namespace=namespace, message=message))
        return ChatResult(answer=reply.answer, citations=reply.citations, answered=reply.answered)

    return server


def _allowed_runtime(app: FastAPI, ctx: Context, namespace: str) -> AgentRuntime:
    """The runtime, once the caller's key may use ``namespace`` (else a tool error)."""
    request = ctx.request_context.request
    caller = request.scope.get(_CALLER_SCOPE_KEY) if isinstance(request, Request) else None
    if not isinstance(caller, Caller):
        raise ToolError("The request carries no authenticated service key.")
    with _as_tool_error():
        caller.require_namespace(namespace)
    runtime: AgentRuntime = app.state.runtime
    return runtime


@contextmanager
def _as_tool_error() -> Iterator[None]:
    """Our typed errors (forbidden namespace, limits, providers) as MCP tool errors: the SDK
    reports a ``ToolError`` with its text, and hides any other exception's."""
    try:
        yield
    except AppError as exc:
        raise ToolError(f"{exc.code}: {exc.detail}") from exc


def _match(found: StoredMatch) -> RetrieveMatch:
    return RetrieveMatch(
        chunk_id=found.id,
        document_id=found.document_id,
        text=found.text,
        score=min(max(found.score, 0.0), 1.0),
        metadata=found.metadata,
    )


class _AuthenticatedMcp:
    """The SDK's streamable HTTP handler behind the service keys of ``/v1``: no valid key is
    a 401 (the app's usual error body) before MCP reads the request."""

    def __init__(self, app: FastAPI, server: MCPServer) -> None:
        self._app = app
        self._server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        header = Request(scope).headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthorized()
        caller = authenticate(self._app.state.settings, key.strip())
        if caller is None:
            raise Unauthorized("The service key is not valid.")
        scope[_CALLER_SCOPE_KEY] = caller
        await self._server.session_manager.handle_request(scope, receive, send)


def mount_mcp(app: FastAPI) -> Callable[[], AbstractAsyncContextManager[None]]:
    """Serve MCP at ``/mcp``; returns the context the app's lifespan must run it in (a mounted
    sub-app's own lifespan never runs)."""
    server = build_mcp_server(app)
    # Stateless JSON: each POST is complete in itself, so any replica can answer any call.
    # DNS-rebinding protection guards key-less local servers; every call here needs a key a
    # browser page cannot supply, and the Host of a deployed agent is not a loopback name.
    server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    app.router.routes.append(
        Route(MCP_PATH, endpoint=_AuthenticatedMcp(app, server), include_in_schema=False)
    )
    return lambda: _in_own_task(server.session_manager.run)


@asynccontextmanager
async def _in_own_task(
    context: Callable[[], AbstractAsyncContextManager[None]],
) -> AsyncIterator[None]:
    """Hold ``context`` open in a task of its own: the session manager's task group must be left
    by the task that entered it, and a lifespan may be left by another (in-process hosts do)."""
    entered, stop = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with context():
            entered.set()
            await stop.wait()

    task = asyncio.create_task(hold())
    waiting = asyncio.create_task(entered.wait())
    await asyncio.wait((task, waiting), return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if task.done():
        task.result()  # it failed to start: raise why
    try:
        yield
    finally:
        stop.set()
        await task
