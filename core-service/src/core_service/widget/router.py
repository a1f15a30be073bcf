"""``GET /widget.js``, the hosted chat page ``GET /embed`` and the page's own assets."""

import html
import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from chatsphere_contracts.v1 import MAX_MESSAGE_CHARS
from core_service.botkeys import service as botkeys_service
from core_service.botkeys.models import KeyKind
from core_service.bots.configuration import BotConfiguration, WidgetSettings
from core_service.bots.models import Bot
from core_service.database import SessionDep
from core_service.widget.assets import Asset, asset, embed_template
from core_service.widget.exceptions import (
    EmbedKeyNotFound,
    EmbedTargetMissing,
    PublishableKeyRequired,
    WidgetAssetNotFound,
)

__all__ = ["router"]

router = APIRouter(tags=["widget"], include_in_schema=False)

# The page runs only its own script and style and talks only to this service. Who may frame it
# is the one part that varies: a key's allowed origins, or nobody for the owner's playground.
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
)
# Allowed origins are normalised when a key is made; this keeps anything else out of the header.
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]+)?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]+)?")
_PAGE_ASSETS = frozenset({"embed.js", "embed.css"})
# Sites embed /widget.js by a fixed URL: cached for an hour, then revalidated by its ETag.
_WIDGET_CACHE = "public, max-age=3600"
_IMMUTABLE_CACHE = "public, max-age=31536000, immutable"


def _static(request: Request, item: Asset, cache_control: str) -> Response:
    headers = {
        "ETag": item.etag,
        "Cache-Control": cache_control,
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == item.etag:
        return Response(status_code=304, headers=headers)
    return Response(item.body, media_type=item.media_type, headers=headers)


@router.get("/widget.js")
async def widget_script(request: Request) -> Response:
    """The launcher script a site embeds; it may be loaded from any origin."""
    response = _static(request, asset("widget.js"), _WIDGET_CACHE)
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@router.get("/embed/assets/{name}")
async def page_asset(request: Request, name: str, v: str = "") -> Response:
    """The hosted page's script and style; a versioned URL is cached for good."""
    if name not in _PAGE_ASSETS:
        raise WidgetAssetNotFound
    item = asset(name)
    return _static(request, item, _IMMUTABLE_CACHE if v == item.version else "no-cache")


@router.get("/embed")
async def embed_page(
    session: SessionDep,
    key: Annotated[str | None, Query(max_length=200)] = None,
    playground: bool = False,
    bot: uuid.UUID | None = None,
) -> Response:
    """The hosted chat page: an end user's chat through a publishable key, or the playground."""
    if playground and bot is not None:
        return _page(mode="playground", bot_id=str(bot), settings=WidgetSettings(), ancestors=[])
    if not key:
        raise EmbedTargetMissing
    if not key.startswith("pk_"):
        raise PublishableKeyRequired
    return await _key_page(session, key)


async def _key_page(session: AsyncSession, key: str) -> Response:
    """The page of the key's bot, with its widget settings, framed only by the key's sites."""
    found = await botkeys_service.find_active_key(session, key=key)
    if found is None or KeyKind(found[0].kind) is not KeyKind.PUBLISHABLE:
        raise EmbedKeyNotFound
    bot_key = found[0]
    bot = await session.get(Bot, bot_key.bot_id)
    if bot is None:
        raise EmbedKeyNotFound
    settings = BotConfiguration.model_validate(bot.configuration).widget
    if not settings.title:
        settings = settings.model_copy(update={"title": bot.name})
    ancestors = [origin for origin in bot_key.allowed_origins if _ORIGIN.fullmatch(origin)]
    return _page(mode="key", key=key, bot_id=str(bot.id), settings=settings, ancestors=ancestors)


def _page(
    *, mode: str, settings: WidgetSettings, ancestors: list[str], key: str = "", bot_id: str = ""
) -> Response:
    values = {
        "mode": mode,
        "key": key,
        "bot_id": bot_id,
        "title": settings.title or "Chat",
        "greeting": settings.greeting,
        "color": settings.color,
    }
    page = embed_template().substitute(
        {name: html.escape(value) for name, value in values.items()},
        css_version=asset("embed.css").version,
        js_version=asset("embed.js").version,
        max_chars=MAX_MESSAGE_CHARS,
    )
    csp = _CSP.format(ancestors=" ".join(ancestors) or "'none'")
    headers = {
        "Content-Security-Policy": csp,
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    return Response(page, media_type="text/html; charset=utf-8", headers=headers)
