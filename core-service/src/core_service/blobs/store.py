"""Where original files live: a PostgreSQL table by default, S3-compatible storage in production.

Every method takes the caller's session. The PostgreSQL store writes in it, so a file is stored in
the same transaction as its document and job; the S3 store does not need it (an object written
for a transaction that then rolls back is removed again by the caller, see ``documents``).
"""

import asyncio
import functools
import uuid
from typing import TYPE_CHECKING, Protocol

from pydantic import SecretStr
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core_service.blobs.models import StoredBlob
from core_service.config import Settings

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client
    from types_boto3_s3.type_defs import ObjectIdentifierTypeDef

__all__ = [
    "BlobStore",
    "PostgresBlobStore",
    "S3BlobStore",
    "bot_prefix",
    "create_blob_store",
    "document_key",
]


def document_key(*, bot_id: uuid.UUID, document_id: uuid.UUID) -> str:
    """The key of a document's original file."""
    return f"{bot_prefix(bot_id)}{document_id}"


def bot_prefix(bot_id: uuid.UUID) -> str:
    """The prefix every key of the bot's files starts with."""
    return f"documents/{bot_id}/"


class BlobStore(Protocol):
    """Put, get and delete whole files by key."""

    async def put(self, session: AsyncSession, *, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` (replacing what was there)."""

    async def get(self, session: AsyncSession, *, key: str) -> bytes | None:
        """The bytes under ``key``, or None."""

    async def delete(self, session: AsyncSession, *, key: str) -> None:
        """Remove ``key`` (nothing happens if it is absent)."""

    async def delete_prefix(self, session: AsyncSession, *, prefix: str) -> None:
        """Remove every key that starts with ``prefix``."""


class PostgresBlobStore:
    """Files as rows of ``blobs``: no volume and no extra service to run."""

    async def put(self, session: AsyncSession, *, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` in the caller's transaction."""
        statement = insert(StoredBlob).values(key=key, data=data)
        await session.execute(
            statement.on_conflict_do_update(index_elements=["key"], set_={"data": data})
        )

    async def get(self, session: AsyncSession, *, key: str) -> bytes | None:
        """The bytes under ``key``, or None."""
        data: bytes | None = await session.scalar(
            select(StoredBlob.data).where(StoredBlob.key == key)
        )
        return data

    async def delete(self, session: AsyncSession, *, key: str) -> None:
        """Remove ``key`` in the caller's transaction."""
        await session.execute(delete(StoredBlob).where(StoredBlob.key == key))

    async def delete_prefix(self, session: AsyncSession, *, prefix: str) -> None:
        """Remove every key under ``prefix`` in the caller's transaction."""
        await session.execute(delete(StoredBlob).where(StoredBlob.key.startswith(prefix)))


class S3BlobStore:
    """Files as objects of one bucket; boto3 is blocking, so each call runs in a thread."""

    def __init__(self, client: "S3Client", *, bucket: str, prefix: str = "") -> None:
        self._client = client
        self._bucket = bucket
        self._prefix = prefix

    async def put(self, session: AsyncSession, *, key: str, data: bytes) -> None:
        """Upload ``data`` as the object ``key``."""
        await asyncio.to_thread(
            self._client.put_object, Bucket=self._bucket, Key=self._prefix + key, Body=data
        )

    async def get(self, session: AsyncSession, *, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such object."""
        return await asyncio.to_thread(self._get, self._prefix + key)

    async def delete(self, session: AsyncSession, *, key: str) -> None:
        """Remove the object ``key``."""
        await asyncio.to_thread(
            self._client.delete_object, Bucket=self._bucket, Key=self._prefix + key
        )

    async def delete_prefix(self, session: AsyncSession, *, prefix: str) -> None:
        """Remove every object under ``prefix``, a listed page at a time."""
        await asyncio.to_thread(self._delete_prefix, self._prefix + prefix)

    def _get(self, key: str) -> bytes | None:
        try:
            answer = self._client.get_object(Bucket=self._bucket, Key=key)
        except self._client.exceptions.NoSuchKey:
            return None
        return answer["Body"].read()

    def _delete_prefix(self, prefix: str) -> None:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=prefix
        )
        for page in pages:
            keys: list[ObjectIdentifierTypeDef] = [
                {"Key": item["Key"]} for item in page.get("Contents", []) if "Key" in item
            ]
            if keys:
                self._client.delete_objects(Bucket=self._bucket, Delete={"Objects": keys})


def create_blob_store(settings: Settings) -> BlobStore:
    """The store the settings choose (one per process and configuration)."""
    if settings.blob_store == "postgres":
        return PostgresBlobStore()
    if not settings.s3_bucket:
        raise ValueError("CORE_S3_BUCKET must be set when CORE_BLOB_STORE is s3")
    return _s3_store(
        settings.s3_bucket,
        settings.s3_key_prefix,
        settings.s3_endpoint_url,
        settings.s3_region,
        _secret(settings.s3_access_key_id),
        _secret(settings.s3_secret_access_key),
    )


@functools.lru_cache(maxsize=8)
def _s3_store(
    bucket: str,
    prefix: str,
    endpoint_url: str | None,
    region: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
) -> S3BlobStore:
    # A client is costly to build and keeps a connection pool: reuse it across jobs. boto3 is
    # imported here, so that processes on the default store do not carry it in memory.
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
    )
    return S3BlobStore(client, bucket=bucket, prefix=prefix)


def _secret(value: SecretStr | None) -> str | None:
    # Unset credentials let boto3 find its own (environment, web identity, instance role).
    return None if value is None else value.get_secret_value()
