"""``AgentDep``: the agent client of the running app."""

from typing import Annotated

from fastapi import Depends, Request

from core_service.agent_client.client import AgentClient

__all__ = ["AgentDep", "get_agent_client"]


async def get_agent_client(request: Request) -> AgentClient:
    """The client created in the app's lifespan."""
    client: AgentClient = request.app.state.agent_client
    return client


AgentDep = Annotated[AgentClient, Depends(get_agent_client)]
