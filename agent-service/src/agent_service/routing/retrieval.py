"""``POST /v1/retrieve``."""

from fastapi import APIRouter

from agent_service.errors import ERROR_RESPONSES
from agent_service.generation.providers import provider_errors
from agent_service.routing.dependencies import CallerDep, RuntimeDep
from agent_service.routing.limits import check_at_most
from chatsphere_contracts.v1 import RetrieveMatch, RetrieveRequest, RetrieveResponse

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["retrieval"], responses=ERROR_RESPONSES)


@router.post("/retrieve", response_model=RetrieveResponse)
async def retrieve(
    body: RetrieveRequest, caller: CallerDep, runtime: RuntimeDep
) -> RetrieveResponse:
    """Hybrid (vector + full-text) search inside one namespace, best first."""
    caller.require_namespace(body.namespace)
    check_at_most("query characters", len(body.query), runtime.settings.max_query_chars)
    async with provider_errors("retrieval"):
        matches = await runtime.retriever.retrieve(
            body.namespace,
            body.query,
            top_k=body.top_k,
            min_score=body.min_score,
            document_ids=body.filter.document_ids if body.filter else None,
        )
    return RetrieveResponse(
        matches=[
            RetrieveMatch(
                chunk_id=match.id,
                document_id=match.document_id,
                text=match.text,
                score=min(max(match.score, 0.0), 1.0),
                metadata=match.metadata,
            )
            for match in matches
        ]
    )
