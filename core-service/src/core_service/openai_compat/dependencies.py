"""``SecretKeyCaller``: the endpoint is for servers, so only secret bot keys pass."""

from typing import Annotated

from fastapi import Depends

from core_service.botkeys.dependencies import BotKeyCaller, BotKeyIdentity
from core_service.botkeys.models import KeyKind
from core_service.openai_compat.exceptions import SecretKeyRequired

__all__ = ["SecretKeyCaller", "get_secret_key_caller"]


async def get_secret_key_caller(caller: BotKeyCaller) -> BotKeyIdentity:
    """A secret key's caller; a publishable key (meant for browsers) is refused with 403."""
    if caller.kind is not KeyKind.SECRET:
        raise SecretKeyRequired
    return caller


SecretKeyCaller = Annotated[BotKeyIdentity, Depends(get_secret_key_caller)]
