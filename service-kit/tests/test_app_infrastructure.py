"""The kit wired into a small app with an included, prefixed router, as both services use it.

Error bodies, ``Allow`` from the routes, request ids, the header check, the body cap chosen by
the route, and metrics labelled with the full path template.
"""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI, UploadFile
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from chatsphere_kit.app import install_infrastructure
from chatsphere_kit.middleware import MAX_REQUEST_HEADERS
from chatsphere_kit.observability.metrics import HttpMetrics, metrics_response
from chatsphere_kit.settings import ServiceSettings
from testsupport.asgi import started_client

SMALL_CAP = 4_096
UPLOAD_CAP = 64_000
UPLOAD_ROUTE = ("POST", "/api/v1/bots/{bot_id}/documents")
METRICS = HttpMetrics("kit_test")


class Named(BaseModel):
    name: str


def _router() -> APIRouter:
    router = APIRouter(prefix="/bots/{bot_id}/documents")

    @router.post("")
    async def upload(bot_id: str, file: UploadFile) -> dict[str, int]:
        return {"size": len(await file.read())}

    @router.get("")
    async def list_documents(bot_id: str) -> list[str]:
        return []

    @router.post("/text")
    async def add_text(bot_id: str, body: Named) -> dict[str, str]:
        return {"name": body.name}

    @router.get("/{document_id}")
    async def get_document(bot_id: str, document_id: str) -> dict[str, str]:
        return {"id": document_id}

    @router.delete("/{document_id}")
    async def delete_document(bot_id: str, document_id: str) -> None:
        return None

    return router


async def _metrics(_: Request) -> Response:
    return metrics_response()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(_router(), prefix="/api/v1")
    settings = ServiceSettings(max_request_body_bytes=SMALL_CAP)
    install_infrastructure(
        app,
        settings,
        version="test",
        access_logger="chatsphere_kit.tests.access",
        http_metrics=METRICS,
        metrics_endpoint=_metrics,
        large_body_routes={UPLOAD_ROUTE: UPLOAD_CAP},
    )
    async with started_client(app, base_url="http://kit.test", lifespan=False) as client:
        yield client


async def test_unknown_path_is_404_with_the_error_body(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"error": "NotFound", "detail": "Not Found"}


async def test_405_names_every_method_of_the_path_from_the_routes(
    client: httpx.AsyncClient,
) -> None:
    collection = await client.put("/api/v1/bots/b1/documents")
    item = await client.put("/api/v1/bots/b1/documents/d1")
    literal = await client.put("/api/v1/bots/b1/documents/text")
    assert collection.status_code == 405
    assert collection.json()["error"] == "MethodNotAllowed"
    assert collection.headers["allow"] == "GET, HEAD, POST"
    assert item.headers["allow"] == "DELETE, GET, HEAD"
    # A literal segment wins over a parameter, as in routing.
    assert literal.headers["allow"] == "POST"


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    given = await client.get("/api/v1/bots/b1/documents", headers={"X-Request-ID": "abc-123"})
    generated = await client.get("/api/v1/bots/b1/documents")
    unsafe = await client.get(
        "/api/v1/bots/b1/documents", headers={"X-Request-ID": "bad id\nwith newline"}
    )
    assert given.headers["x-request-id"] == "abc-123"
    assert len(generated.headers["x-request-id"]) == 32
    assert unsafe.headers["x-request-id"] != "bad id\nwith newline"


async def test_validation_errors_name_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/bots/b1/documents/text", json={})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "ValidationError"
    assert body["fields"][0]["loc"] == ["body", "name"]


async def test_too_many_headers_get_431(client: httpx.AsyncClient) -> None:
    headers = {f"x-field-{number}": "v" for number in range(MAX_REQUEST_HEADERS + 1)}
    response = await client.get("/api/v1/bots/b1/documents", headers=headers)
    assert response.status_code == 431
    assert response.json()["error"] == "RequestHeaderFieldsTooLarge"


async def test_the_body_cap_is_chosen_by_the_route_not_the_content_type(
    client: httpx.AsyncClient,
) -> None:
    big = b"x" * (SMALL_CAP * 4)
    upload = await client.post("/api/v1/bots/b1/documents", files={"file": ("a.txt", big)})
    false_multipart = await client.post(
        "/api/v1/bots/b1/documents/text",
        content=big,
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    unknown = await client.post("/api/v1/elsewhere", content=big)
    too_big_upload = await client.post(
        "/api/v1/bots/b1/documents", files={"file": ("a.txt", b"x" * UPLOAD_CAP)}
    )
    assert upload.json() == {"size": len(big)}
    assert false_multipart.status_code == 413
    assert false_multipart.json()["error"] == "PayloadTooLarge"
    assert unknown.status_code == 413
    assert too_big_upload.status_code == 413


async def test_a_streamed_body_is_cut_at_the_cap_of_its_route(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"x" * SMALL_CAP

    response = await client.post(
        "/api/v1/bots/b1/documents/text",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413


def _count(text: str, route: str, status: str, method: str = "GET") -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = {"method": method, "route": route, "status": status}
            if sample.name == "chatsphere_kit_test_http_requests_total" and sample.labels == labels:
                return float(sample.value)
    return 0.0


async def test_metrics_label_the_full_route_template(client: httpx.AsyncClient) -> None:
    before = (await client.get("/metrics")).text
    await client.get("/api/v1/bots/b1/documents/d1")
    await client.get("/api/v1/no/such/page/12345")
    after = (await client.get("/metrics")).text
    template = "/api/v1/bots/{bot_id}/documents/{document_id}"
    assert _count(after, template, "200") - _count(before, template, "200") == 1
    assert _count(after, "unmatched", "404") - _count(before, "unmatched", "404") == 1
    assert "12345" not in after
