"""Hostile files through the real upload endpoint: a clear 4xx or an ``error`` document with a
reason, never a 500 nor a hang, and the service keeps serving afterwards."""

import io
import time
import uuid
import zipfile
import zlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core_service.config import Settings
from testsupport.agent_inprocess import AgentHarness, count_vectors
from testsupport.core_content import create_bot, drain, make_docx, make_worker, upload
from testsupport.core_users import SignedUpUser, signup

MIB = 1_048_576
BOMB_BYTES = 200 * MIB + 1  # one byte past what extraction unpacks


def _deflated_zeros(size: int) -> bytes:
    compressor = zlib.compressobj(9)
    block = bytes(MIB)
    parts = [compressor.compress(block) for _ in range(size // MIB)]
    parts.append(compressor.compress(bytes(size % MIB)))
    parts.append(compressor.flush())
    return b"".join(parts)


def _pdf_with_bomb_stream(size: int) -> bytes:
    """A one-page PDF whose content stream inflates to ``size`` bytes."""
    stream = _deflated_zeros(size)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def _docx_with_huge_member(size: int) -> bytes:
    """A real Word document whose ``document.xml`` is padded with ``size`` bytes of blanks."""
    original = zipfile.ZipFile(io.BytesIO(make_docx("Ordinary words.")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in original.infolist():
            data = original.read(info)
            if info.filename != "word/document.xml":
                bomb.writestr(info, data)
                continue
            head, tail = data.split(b"</w:body>")
            with bomb.open("word/document.xml", "w", force_zip64=True) as member:
                member.write(head)
                blanks = b" " * MIB
                for _ in range(size // MIB):
                    member.write(blanks)
                member.write(b"</w:body>" + tail)
    return out.getvalue()


# Built when the test runs, not when the module is collected.
BAD_FILES: dict[str, tuple[str, Callable[[], bytes]]] = {
    "pdf-decompression-bomb": ("bomb.pdf", lambda: _pdf_with_bomb_stream(BOMB_BYTES)),
    "docx-zip-bomb": ("bomb.docx", lambda: _docx_with_huge_member(BOMB_BYTES)),
    "ten-mb-single-line": ("line.txt", lambda: b"word " * (2 * MIB)),  # 10 MiB, no newline
    "invalid-utf8": ("bad.txt", lambda: b"Caf\xe9 au lait \xff\xfe\xc3\x28 " * 100),
    "nul-bytes": ("nul.txt", lambda: b"plain words\x00\x00 and more\x00 words " * 100),
    "empty": ("empty.txt", lambda: b""),
}


async def _pro_user(client: httpx.AsyncClient, engine: AsyncEngine) -> SignedUpUser:
    user = await signup(client)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE users SET subscription_plan_id = "
                "(SELECT id FROM subscription_plans WHERE name = 'pro') WHERE id = :id"
            ),
            {"id": uuid.UUID(user.id)},
        )
    return user


async def _settled(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, user: SignedUpUser, bot_id: str
) -> list[dict[str, Any]]:
    await drain(make_worker(app, settings, worker_id="bad-uploads"))
    page = await client.get(f"/api/v1/bots/{bot_id}/documents?limit=100", headers=user.headers)
    items: list[dict[str, Any]] = page.json()["items"]
    return items


@pytest.mark.parametrize("case", list(BAD_FILES))
async def test_a_hostile_file_is_refused_or_stored_as_error(
    case: str,
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    core_db: AsyncEngine,
) -> None:
    filename, build = BAD_FILES[case]
    data = build()
    user = await _pro_user(content_client, core_db)
    bot = await create_bot(content_client, user)

    started = time.perf_counter()
    answer = await upload(content_client, user, bot["id"], filename, data)
    upload_s = time.perf_counter() - started
    documents = await _settled(content_client, content_app, core_settings, user, bot["id"])
    still_serving = await create_bot(content_client, user, chunk_size=500)
    print(  # noqa: T201 - the figures go into the report
        f"\n{case}: {len(data):,} bytes uploaded in {upload_s:.2f} s -> {answer.status_code} "
        f"{[(d['status'], d['error']) for d in documents]}"
    )

    assert upload_s < 20
    if answer.status_code == 202:
        assert [d["status"] for d in documents] == ["error"]
        assert len(documents[0]["error"]) > 10
    else:
        assert answer.status_code in {413, 415, 422}, answer.text
        assert set(answer.json()) == {"error", "detail"}
        assert documents == []
    assert still_serving["configuration"]["chunk_size"] == 500


async def test_a_long_single_line_within_limits_is_chunked_and_indexed(
    content_client: httpx.AsyncClient,
    content_app: FastAPI,
    core_settings: Settings,
    core_db: AsyncEngine,
    agent: AgentHarness,
) -> None:
    user = await _pro_user(content_client, core_db)
    bot = await create_bot(content_client, user, chunk_size=2_000, chunk_overlap=0)
    line = b"x" * (2 * MIB)  # no separator at all: the splitter falls back to characters

    started = time.perf_counter()
    answer = await upload(content_client, user, bot["id"], "line.txt", line)
    upload_s = time.perf_counter() - started
    documents = await _settled(content_client, content_app, core_settings, user, bot["id"])
    ready_s = time.perf_counter() - started
    print(  # noqa: T201 - the figures go into the report
        f"\n2 MiB single line: upload {upload_s:.2f} s, ready after {ready_s:.2f} s, "
        f"{documents[0]['chunk_count']} chunks"
    )

    assert answer.status_code == 202, answer.text
    assert [d["status"] for d in documents] == ["ready"]
    chunks = documents[0]["chunk_count"]
    assert chunks >= len(line) // 2_000
    assert await count_vectors(agent.database_url, namespace=f"bot-{bot['id']}") == (
        chunks,
        chunks,
    )
    assert ready_s < 25
