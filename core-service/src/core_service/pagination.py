"""``Page[T]`` and the ``limit``/``offset`` query parameters every list endpoint takes."""

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "Page",
    "PageParams",
    "PageQuery",
]

ItemT = TypeVar("ItemT")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Far past any real list, and well inside PostgreSQL's bigint OFFSET.
MAX_OFFSET = 1_000_000_000


class PageParams(BaseModel):
    """Which slice of a list to return (the ``limit`` and ``offset`` query parameters)."""

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page.")
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET, description="Items to skip.")


# A query parameter model rather than a dependency: the same two parameters in the OpenAPI
# document and the same errors, without a dependency to resolve (about 10 us a request).
PageQuery = Annotated[PageParams, Query()]


class Page(BaseModel, Generic[ItemT]):
    """One slice of a list with the total count."""

    items: list[ItemT]
    total: int = Field(ge=0, description="Items in the whole list.")
    limit: int = Field(description="The limit applied.")
    offset: int = Field(description="The offset applied.")
