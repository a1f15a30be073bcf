"""CORS for the public chat API, and only for it: the origins are those of publishable keys in
the database, so neither a fixed list nor a wildcard fits.

A preflight is answered for an origin that some publishable key in use lists (a preflight
carries no key; the request itself is then checked against its own key's origins by
``admitted_key``). An actual response gets ``Access-Control-Allow-Origin`` only when
``admitted_key`` admitted its origin. Credentials (cookies) are never allowed: the API takes
bearer tokens.
"""

from sqlalchemy import any_, exists, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core_service.botkeys.dependencies import CORS_ORIGIN_STATE
from core_service.botkeys.models import BotKey, KeyKind

__all__ = ["PUBLIC_PATH_PREFIX", "PublicCorsMiddleware", "origin_is_published", "preflight_headers"]

PUBLIC_PATH_PREFIX = "/api/v1/public/"
_PREFLIGHT_MAX_AGE_S = 600


async def origin_is_published(session: AsyncSession, *, origin: str) -> bool:
    """Whether a publishable key in use lists ``origin``."""
    listed = await session.scalar(
        select(
            exists().where(
                BotKey.kind == KeyKind.PUBLISHABLE.value,
                BotKey.revoked_at.is_(None),
                literal(origin) == any_(BotKey.allowed_origins),
            )
        )
    )
    return bool(listed)


def preflight_headers(origin: str) -> dict[str, str]:
    """The answer to a preflight from an origin a publishable key lists."""
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET, POST, PUT",
        "Access-Control-Allow-Headers": "Authorization, Content-Type",
        "Access-Control-Max-Age": str(_PREFLIGHT_MAX_AGE_S),
        "Vary": "Origin",
    }


class PublicCorsMiddleware:
    """Adds the CORS headers to public API responses whose origin ``admitted_key`` admitted."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PUBLIC_PATH_PREFIX):
            await self.app(scope, receive, send)
            return
        # The request's state is this dict; routes see it through ``request.state``.
        state = scope.setdefault("state", {})

        async def send_with_cors(message: Message) -> None:
            origin = state.get(CORS_ORIGIN_STATE)
            if message["type"] == "http.response.start" and origin:
                headers = MutableHeaders(scope=message)
                headers["Access-Control-Allow-Origin"] = origin
                headers["Access-Control-Expose-Headers"] = "Retry-After"
                headers.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)
