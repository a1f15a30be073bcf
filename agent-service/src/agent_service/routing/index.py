"""``POST /v1/index/upsert`` and ``POST /v1/index/delete``."""

from fastapi import APIRouter

from agent_service.errors import ERROR_RESPONSES
from agent_service.generation.providers import provider_errors
from agent_service.retrieval.store import VectorRecord
from agent_service.routing.dependencies import CallerDep, RuntimeDep
from agent_service.routing.limits import check_at_most
from chatsphere_contracts.v1 import DeleteRequest, DeleteResponse, UpsertRequest, UpsertResponse

__all__ = ["router"]

router = APIRouter(prefix="/v1/index", tags=["index"], responses=ERROR_RESPONSES)


@router.post("/upsert", response_model=UpsertResponse)
async def upsert(body: UpsertRequest, caller: CallerDep, runtime: RuntimeDep) -> UpsertResponse:
    """Embed and index passages; the same ids again overwrite."""
    caller.require_namespace(body.namespace)
    check_at_most("chunks", len(body.chunks), runtime.settings.max_chunks_per_upsert)
    # The last occurrence of an id wins, as it would with two requests in a row.
    chunks = list({chunk.id: chunk for chunk in body.chunks}.values())
    async with provider_errors("embeddings"):
        vectors = await runtime.embedder.embed_documents([chunk.text for chunk in chunks])
    records = [
        VectorRecord(
            id=chunk.id,
            document_id=chunk.document_id,
            text=chunk.text,
            vector=vector,
            metadata=chunk.metadata,
        )
        for chunk, vector in zip(chunks, vectors, strict=True)
    ]
    async with provider_errors("vector store"):
        upserted = await runtime.store.upsert(body.namespace, records)
    return UpsertResponse(upserted=upserted)


@router.post("/delete", response_model=DeleteResponse)
async def delete(body: DeleteRequest, caller: CallerDep, runtime: RuntimeDep) -> DeleteResponse:
    """Delete by ids, by document, or the whole namespace."""
    caller.require_namespace(body.namespace)
    store = runtime.store
    async with provider_errors("vector store"):
        if body.ids is not None:
            deleted = await store.delete_ids(body.namespace, body.ids)
        elif body.document_id is not None:
            deleted = await store.delete_document(body.namespace, body.document_id)
        else:
            deleted = await store.delete_all(body.namespace)
    return DeleteResponse(deleted=deleted)
