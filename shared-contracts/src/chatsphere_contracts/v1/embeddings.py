"""``POST /v1/embeddings``."""

from typing import Annotated

from pydantic import Field, StringConstraints

from chatsphere_contracts.v1._base import StorableText, WireModel
from chatsphere_contracts.v1.limits import MAX_TEXT_CHARS, MAX_TEXTS_PER_EMBEDDING

__all__ = ["EmbeddingsRequest", "EmbeddingsResponse", "EmbeddingText"]

EmbeddingText = Annotated[StorableText, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS)]


class EmbeddingsRequest(WireModel):
    """Texts to embed with the service's configured embedder."""

    texts: list[EmbeddingText] = Field(
        min_length=1,
        max_length=MAX_TEXTS_PER_EMBEDDING,
        description=f"1 to {MAX_TEXTS_PER_EMBEDDING} non-empty texts.",
    )


class EmbeddingsResponse(WireModel):
    """One vector per input text, in input order."""

    model: str = Field(description="Name of the embedding model used.")
    dimensions: int = Field(ge=1, description="Length of every vector.")
    vectors: list[list[float]] = Field(description="One vector per text, in order.")
