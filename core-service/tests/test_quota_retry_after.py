"""Every quota 429 carries ``Retry-After``, also for limits that do not reset with time."""

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from core_service.usage import service as usage_service
from core_service.usage.service import UsageMetric
from core_service.users import service as users_service
from testsupport.core_content import create_bot
from testsupport.core_users import signup


async def test_bot_and_document_quota_answers_carry_retry_after(
    content_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    user = await signup(content_client)
    bot = await create_bot(content_client, user)
    sessionmaker = async_sessionmaker(core_db, expire_on_commit=False)
    async with sessionmaker.begin() as session:
        owner = await users_service.require_user(session, user_id=uuid.UUID(user.id))
        limits = await usage_service.plan_limits(session, user=owner)
        for metric, cap in (
            (UsageMetric.BOTS, limits.max_bots),
            (UsageMetric.DOCUMENTS, limits.max_documents),
        ):
            used = 1 if metric is UsageMetric.BOTS else 0
            await usage_service.consume(session, user=owner, metric=metric, amount=cap - used)

    bots = await content_client.post(
        "/api/v1/bots", json={"name": "one more"}, headers=user.headers
    )
    documents = await content_client.post(
        f"/api/v1/bots/{bot['id']}/documents/text",
        json={"name": "one more", "content": "some words"},
        headers=user.headers,
    )

    for refused in (bots, documents):
        assert (refused.status_code, refused.json()["error"]) == (429, "QuotaExceeded")
        assert int(refused.headers["retry-after"]) > 0
