"""``POST /v1/retrieve``."""

from typing import Annotated, Any

from pydantic import Field

from chatsphere_contracts.v1._base import (
    JsonNumber,
    StorableText,
    StrictInt,
    WireModel,
)
from chatsphere_contracts.v1.index import Namespace, VectorId
from chatsphere_contracts.v1.limits import MAX_IDS_PER_DELETE, MAX_QUERY_CHARS, MAX_TOP_K

__all__ = ["RetrievalFilter", "RetrieveMatch", "RetrieveRequest", "RetrieveResponse"]


class RetrievalFilter(WireModel):
    """Restricts which passages may match."""

    document_ids: list[VectorId] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_IDS_PER_DELETE,
        description="Only passages of these documents.",
    )


class RetrieveRequest(WireModel):
    """Find the passages of a namespace that best answer a query."""

    namespace: Namespace = Field(description="Tenant namespace.")
    query: StorableText = Field(
        min_length=1, max_length=MAX_QUERY_CHARS, description="The question."
    )
    top_k: StrictInt = Field(default=5, ge=1, le=MAX_TOP_K, description="How many matches at most.")
    min_score: Annotated[float, Field(ge=0.0, le=1.0), JsonNumber] | None = Field(
        default=None, description="Drop matches scoring below this."
    )
    filter: RetrievalFilter | None = Field(default=None, description="Optional restriction.")


class RetrieveMatch(WireModel):
    """One passage that matched."""

    chunk_id: str = Field(description="Vector id of the passage.")
    document_id: str = Field(description="Document the passage belongs to.")
    text: str = Field(description="Passage text.")
    score: float = Field(description="Relevance in [0, 1]; higher is better.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Metadata as indexed.")


class RetrieveResponse(WireModel):
    """Matches, best first."""

    matches: list[RetrieveMatch] = Field(description="Best first.")
