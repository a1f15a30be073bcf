"""Bot keys and end-user sessions through the core HTTP API, for the public chat API tests."""

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

import httpx

from testsupport.core_users import SignedUpUser

__all__ = ["EndUserSession", "end_user_hash", "new_key", "start_session"]


@dataclass(frozen=True)
class EndUserSession:
    """A started end-user session and the headers that use it."""

    end_user_id: str
    token: str
    headers: dict[str, str] = field(default_factory=dict)


def end_user_hash(identity_secret: str, end_user_id: str) -> str:
    """What a bot owner's server computes to vouch for an end user."""
    return hmac.new(identity_secret.encode(), end_user_id.encode(), hashlib.sha256).hexdigest()


async def new_key(
    client: httpx.AsyncClient, owner: SignedUpUser, bot_id: str, **fields: Any
) -> dict[str, Any]:
    """A new bot key (201 asserted); a secret key unless ``kind`` says otherwise."""
    body = {"name": "site", "kind": "secret", **fields}
    answer = await client.post(f"/api/v1/bots/{bot_id}/keys", json=body, headers=owner.headers)
    assert answer.status_code == 201, answer.text  # noqa: S101
    created: dict[str, Any] = answer.json()
    return created


async def start_session(
    client: httpx.AsyncClient, key: str, *, origin: str | None = None, **body: str
) -> EndUserSession:
    """A session through ``key`` (201 asserted), sent from ``origin`` when given."""
    origin_header = {"Origin": origin} if origin else {}
    answer = await client.post(
        "/api/v1/public/sessions",
        json=body,
        headers={"Authorization": f"Bearer {key}", **origin_header},
    )
    assert answer.status_code == 201, answer.text  # noqa: S101
    started = answer.json()
    return EndUserSession(
        end_user_id=started["end_user_id"],
        token=started["session_token"],
        headers={"Authorization": f"Bearer {started['session_token']}", **origin_header},
    )
