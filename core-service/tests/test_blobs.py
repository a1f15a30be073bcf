"""Original files: both blob stores (PostgreSQL, and S3 over a loopback moto server speaking the
real wire format), download by the owner only, and files deleted with their document or bot."""

import uuid
from collections.abc import AsyncIterator, Iterator

import boto3
import httpx
import pytest
from fastapi import FastAPI
from moto.server import ThreadedMotoServer
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from core_service.blobs.store import BlobStore, PostgresBlobStore, create_blob_store
from core_service.config import Settings
from core_service.main import create_app
from testsupport.agent_inprocess import AgentHarness
from testsupport.asgi import started_client
from testsupport.core_content import create_bot, drain, make_pdf, make_worker, upload
from testsupport.core_users import signup
from testsupport.service_process import free_port

BUCKET = "chatsphere-originals"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 in server mode on a loopback port, with an empty bucket."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - moto accepts any key
    )
    client.create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


def _s3_settings(settings: Settings, endpoint: str) -> Settings:
    return settings.model_copy(
        update={
            "blob_store": "s3",
            "s3_bucket": BUCKET,
            "s3_endpoint_url": endpoint,
            "s3_region": "us-east-1",
            "s3_key_prefix": f"test-{uuid.uuid4().hex[:8]}/",
            "s3_access_key_id": SecretStr("test"),
            "s3_secret_access_key": SecretStr("test"),
        }
    )


@pytest.fixture(params=["postgres", "s3"])
def blob_store(request: pytest.FixtureRequest, core_settings: Settings) -> BlobStore:
    """Each back-end in turn."""
    if request.param == "postgres":
        return PostgresBlobStore()
    endpoint: str = request.getfixturevalue("s3_endpoint")
    return create_blob_store(_s3_settings(core_settings, endpoint))


async def test_put_get_delete_and_delete_by_prefix(
    blob_store: BlobStore, core_db: AsyncEngine
) -> None:
    sessions = async_sessionmaker(core_db)
    data = bytes(range(256)) * 1_000
    async with sessions() as session, session.begin():
        await blob_store.put(session, key="documents/b1/d1", data=data)
        await blob_store.put(session, key="documents/b1/d2", data=b"second")
        await blob_store.put(session, key="documents/b2/d3", data=b"other bot")
        await blob_store.put(session, key="documents/b1/d2", data=b"replaced")
    async with sessions() as session:
        stored = await blob_store.get(session, key="documents/b1/d1")
        replaced = await blob_store.get(session, key="documents/b1/d2")
        missing = await blob_store.get(session, key="documents/b1/nothing")
    async with sessions() as session, session.begin():
        await blob_store.delete(session, key="documents/b1/d1")
        await blob_store.delete(session, key="documents/b1/never-there")
    async with sessions() as session:
        after_delete = await blob_store.get(session, key="documents/b1/d1")
    async with sessions() as session, session.begin():
        await blob_store.delete_prefix(session, prefix="documents/b1/")
    async with sessions() as session:
        left = [await blob_store.get(session, key=f"documents/{k}") for k in ("b1/d2", "b2/d3")]

    assert (stored, replaced, missing) == (data, b"replaced", None)
    assert after_delete is None
    assert left == [None, b"other bot"]


@pytest.fixture
async def s3_app(
    core_settings: Settings, core_db: AsyncEngine, agent: AgentHarness, s3_endpoint: str
) -> AsyncIterator[tuple[FastAPI, Settings]]:
    """A core app that keeps originals in the loopback S3."""
    settings = _s3_settings(core_settings, s3_endpoint)
    app = create_app(settings, agent_transport=agent.transport)
    async with app.router.lifespan_context(app):
        yield app, settings


async def test_s3_original_is_downloaded_reindexed_and_deleted_with_its_document(
    s3_app: tuple[FastAPI, Settings], core_db: AsyncEngine
) -> None:
    app, settings = s3_app
    store = create_blob_store(settings)
    sessions = async_sessionmaker(core_db)
    async with started_client(app, base_url="http://core.test", lifespan=False) as client:
        user = await signup(client)
        bot = await create_bot(client, user)
        pdf = make_pdf("Moonlight guides the moths.")
        accepted = (await upload(client, user, bot["id"], "moths.pdf", pdf)).json()
        base = f"/api/v1/bots/{bot['id']}/documents/{accepted['id']}"
        worker = make_worker(app, settings, worker_id="w1")
        await drain(worker)
        ready = (await client.get(base, headers=user.headers)).json()
        downloaded = await client.get(f"{base}/file", headers=user.headers)
        await client.post(f"{base}/reindex", headers=user.headers)
        await drain(worker)
        reindexed = (await client.get(base, headers=user.headers)).json()
        await client.delete(base, headers=user.headers)
        await drain(worker)
    key = f"documents/{bot['id']}/{accepted['id']}"
    async with sessions() as session:
        left = await store.get(session, key=key)
        blob_rows = await session.scalar(text("SELECT count(*) FROM blobs"))

    assert ready["status"] == "ready", ready
    assert downloaded.content == pdf
    assert reindexed["status"] == "ready"
    assert left is None
    assert blob_rows == 0  # the S3 store kept nothing in PostgreSQL


async def test_download_gives_the_original_to_its_owner_only(
    content_client: httpx.AsyncClient, core_db: AsyncEngine
) -> None:
    owner = await signup(content_client)
    stranger = await signup(content_client)
    bot = await create_bot(content_client, owner)
    html = b"<html><body><script>alert(1)</script><p>Caf\xc3\xa9 hours</p></body></html>"
    accepted = await upload(content_client, owner, bot["id"], "café menu.html", html)
    path = f"/api/v1/bots/{bot['id']}/documents/{accepted.json()['id']}/file"
    pasted = await content_client.post(
        f"/api/v1/bots/{bot['id']}/documents/text",
        json={"name": "notes", "content": "Pasted words, kept as they were."},
        headers=owner.headers,
    )

    mine = await content_client.get(path, headers=owner.headers)
    theirs = await content_client.get(path, headers=stranger.headers)
    text_file = await content_client.get(
        f"/api/v1/bots/{bot['id']}/documents/{pasted.json()['id']}/file", headers=owner.headers
    )

    assert mine.status_code == 200
    assert mine.content == html
    assert mine.headers["content-type"].startswith("text/html")
    assert mine.headers["content-disposition"] == (
        "attachment; filename=\"caf_ menu.html\"; filename*=UTF-8''caf%C3%A9%20menu.html"
    )
    assert mine.headers["x-content-type-options"] == "nosniff"
    assert (theirs.status_code, theirs.json()["error"]) == (404, "NotFound")
    assert text_file.content == b"Pasted words, kept as they were."


async def test_deleting_a_bot_deletes_its_files(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    core_db: AsyncEngine,
) -> None:
    user = await signup(content_client)
    doomed = await create_bot(content_client, user)
    kept = await create_bot(content_client, user)
    for bot, name in ((doomed, "a.txt"), (doomed, "b.txt"), (kept, "c.txt")):
        await upload(content_client, user, bot["id"], name, f"Words of {name}.".encode())
    await drain(make_worker(content_app, core_settings, worker_id="w1"))

    await content_client.delete(f"/api/v1/bots/{doomed['id']}", headers=user.headers)
    await drain(make_worker(content_app, core_settings, worker_id="w1"))
    async with core_db.connect() as connection:
        keys = (await connection.scalars(text("SELECT key FROM blobs"))).all()

    assert len(keys) == 1
    assert keys[0].startswith(f"documents/{kept['id']}/")
