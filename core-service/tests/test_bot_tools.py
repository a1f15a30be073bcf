"""``configuration.tools`` takes only the agent's tools; an unknown name is a 422 naming them."""

import httpx

from testsupport.core_content import create_bot
from testsupport.core_users import signup


async def test_unknown_tool_names_are_refused_with_the_known_ones(
    core_client: httpx.AsyncClient,
) -> None:
    user = await signup(core_client)
    created = await core_client.post(
        "/api/v1/bots",
        json={"name": "b", "configuration": {"agent_type": "react", "tools": ["web_search"]}},
        headers=user.headers,
    )
    bot = await create_bot(core_client, user)
    patched = await core_client.patch(
        f"/api/v1/bots/{bot['id']}",
        json={"configuration": {"tools": ["calculator", "calculater"]}},
        headers=user.headers,
    )
    kept = await core_client.get(f"/api/v1/bots/{bot['id']}", headers=user.headers)

    for refused in (created, patched):
        assert refused.status_code == 422, refused.text
        assert "calculator, search_documents" in refused.text
    assert "web_search" in created.text
    assert "calculater" in patched.text
    assert kept.json()["configuration"]["tools"] == []


async def test_known_tools_are_accepted(core_client: httpx.AsyncClient) -> None:
    user = await signup(core_client)
    created = await core_client.post(
        "/api/v1/bots",
        json={
            "name": "b",
            "configuration": {"agent_type": "react", "tools": ["search_documents", "calculator"]},
        },
        headers=user.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["configuration"]["tools"] == ["search_documents", "calculator"]
