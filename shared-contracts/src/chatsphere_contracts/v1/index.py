"""``POST /v1/index/upsert`` and ``POST /v1/index/delete``."""

from typing import Annotated, Self

from pydantic import Field, StringConstraints, model_validator

from chatsphere_contracts.v1._base import (
    StorableText,
    StrictBool,
    StrictFloat,
    StrictInt,
    WireModel,
)
from chatsphere_contracts.v1.limits import (
    MAX_CHUNK_CHARS,
    MAX_CHUNKS_PER_UPSERT,
    MAX_IDS_PER_DELETE,
    MAX_NAMESPACE_CHARS,
)

__all__ = [
    "DeleteRequest",
    "DeleteResponse",
    "IndexChunk",
    "Namespace",
    "UpsertRequest",
    "UpsertResponse",
    "VectorId",
]

Namespace = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=MAX_NAMESPACE_CHARS, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"
    ),
]
VectorId = Annotated[StorableText, StringConstraints(min_length=1, max_length=256)]
MetadataKey = Annotated[StorableText, StringConstraints(min_length=1, max_length=256)]
# Flat, as Pinecone stores it: no nested objects, no nulls.
MetadataValue = (
    StrictBool
    | StrictInt
    | StrictFloat
    | Annotated[StorableText, StringConstraints(max_length=8_000)]
    | Annotated[
        list[Annotated[StorableText, StringConstraints(max_length=256)]], Field(max_length=64)
    ]
)


class IndexChunk(WireModel):
    """One passage to index; its ``id`` is the vector id, so sending it again overwrites."""

    id: VectorId = Field(description="Vector id; the caller's chunk id.")
    document_id: VectorId = Field(description="Id of the document the passage belongs to.")
    text: StorableText = Field(
        min_length=1, max_length=MAX_CHUNK_CHARS, description="Passage text."
    )
    metadata: dict[MetadataKey, MetadataValue] = Field(
        default_factory=dict,
        max_length=64,
        description="Flat metadata returned with matches: text, number, boolean or list of text.",
        # Keys follow the same text rule; patternProperties alone would not forbid other keys.
        json_schema_extra={
            "propertyNames": {"minLength": 1, "maxLength": 256, "pattern": "^[^\\u0000]*$"}
        },
    )


class UpsertRequest(WireModel):
    """Index passages in a namespace, overwriting any with the same ids."""

    namespace: Namespace = Field(description="Tenant namespace; core uses one per bot.")
    chunks: list[IndexChunk] = Field(
        min_length=1,
        max_length=MAX_CHUNKS_PER_UPSERT,
        description=f"1 to {MAX_CHUNKS_PER_UPSERT} passages.",
    )


class UpsertResponse(WireModel):
    """How many passages were written."""

    upserted: int = Field(ge=0, description="Number of passages written.")


class DeleteRequest(WireModel):
    """Delete vectors by ids, by document, or the whole namespace; exactly one selector."""

    namespace: Namespace = Field(description="Tenant namespace.")
    ids: list[VectorId] | None = Field(
        default=None, max_length=MAX_IDS_PER_DELETE, description="Vector ids to delete."
    )
    document_id: VectorId | None = Field(
        default=None, description="Delete every vector of this document."
    )
    delete_all: StrictBool = Field(
        default=False, description="Delete every vector in the namespace."
    )

    @model_validator(mode="after")
    def _exactly_one_selector(self) -> Self:
        chosen = [self.ids is not None, self.document_id is not None, self.delete_all]
        if sum(chosen) != 1:
            raise ValueError("give exactly one of ids, document_id or delete_all")
        return self


class DeleteResponse(WireModel):
    """How many vectors were removed (stores that cannot count answer with what was asked)."""

    deleted: int = Field(ge=0, description="Number of vectors removed.")
