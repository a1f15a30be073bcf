"""``POST /v1/embeddings``."""

from fastapi import APIRouter

from agent_service.errors import ERROR_RESPONSES
from agent_service.generation.providers import provider_errors
from agent_service.routing.dependencies import CallerDep, RuntimeDep
from agent_service.routing.limits import check_at_most
from chatsphere_contracts.v1 import EmbeddingsRequest, EmbeddingsResponse

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["embeddings"], responses=ERROR_RESPONSES)


@router.post("/embeddings", response_model=EmbeddingsResponse)
async def embed(body: EmbeddingsRequest, _: CallerDep, runtime: RuntimeDep) -> EmbeddingsResponse:
    """Embed texts with the configured embedder, in input order."""
    check_at_most("texts", len(body.texts), runtime.settings.max_texts_per_request)
    async with provider_errors("embeddings"):
        vectors = await runtime.embedder.embed_documents(body.texts)
    return EmbeddingsResponse(
        model=runtime.embedder.model,
        dimensions=runtime.embedder.dimensions,
        vectors=vectors.tolist(),
    )
