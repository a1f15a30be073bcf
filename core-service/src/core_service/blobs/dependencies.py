"""``Blobs``: the blob store the app's settings choose."""

from typing import Annotated

from fastapi import Depends

from core_service.auth.dependencies import AppSettings
from core_service.blobs.store import BlobStore, create_blob_store

__all__ = ["Blobs", "get_blob_store"]


def get_blob_store(settings: AppSettings) -> BlobStore:
    """The configured store (an S3 client is built once per process and reused)."""
    return create_blob_store(settings)


Blobs = Annotated[BlobStore, Depends(get_blob_store)]
