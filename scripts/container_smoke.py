"""The smoke flow `make check-containers` runs against the compose stack, through core only.

Register, log in, create a bot, add a text document and wait until the worker and the agent
have made it ready, ask a question and expect an answer citing that document, then ask again
over the streaming endpoint. Prints one line per step; exits non-zero at the first surprise.

    python scripts/container_smoke.py http://127.0.0.1:8000
"""

import json
import secrets
import sys
import time
from typing import Any

import httpx

DOCUMENT = (
    "The lighthouse keeper of Port Anselm winds the clockwork lamp every evening at dusk. "
    "The lamp was built in 1887 and its beam reaches twenty-two nautical miles. "
    "Visitors may climb the tower's 143 steps on Saturdays between ten and four."
)
QUESTION = "How many steps does the lighthouse tower have?"
ANSWER_FACT = "143"
READY_TIMEOUT_S = 120.0


def step(message: str) -> None:
    print(f"  smoke: {message}", flush=True)  # noqa: T201 (the flow's output is the report)


def expect(response: httpx.Response, status: int) -> Any:
    if response.status_code != status:
        raise SystemExit(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}, expected {status}: {response.text[:500]}"
        )
    return response.json() if response.content else None


def log_in(client: httpx.Client) -> None:
    name = f"smoke-{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(16)
    user = expect(
        client.post(
            "/api/v1/auth/register",
            json={"username": name, "email": f"{name}@example.com", "password": password},
        ),
        201,
    )
    tokens = expect(
        client.post("/api/v1/auth/login", data={"username": name, "password": password}), 200
    )
    client.headers["Authorization"] = f"Bearer {tokens['access_token']}"
    step(f"registered and logged in as {user['username']} (user {user['id']})")


def ready_document(client: httpx.Client, bot_id: str) -> str:
    document = expect(
        client.post(
            f"/api/v1/bots/{bot_id}/documents/text",
            json={"name": "lighthouse.txt", "content": DOCUMENT},
        ),
        202,
    )
    started = time.monotonic()
    while document["status"] == "processing":
        if time.monotonic() - started > READY_TIMEOUT_S:
            raise SystemExit(f"document still processing after {READY_TIMEOUT_S:.0f} s")
        time.sleep(0.5)
        document = expect(client.get(f"/api/v1/bots/{bot_id}/documents/{document['id']}"), 200)
    if document["status"] != "ready":
        raise SystemExit(f"document ended {document['status']}: {document['error']}")
    elapsed = time.monotonic() - started
    step(f"document {document['id']} ready in {elapsed:.1f} s, {document['chunk_count']} chunk(s)")
    return str(document["id"])


def check_citations(citations: list[dict[str, Any]], document_id: str, where: str) -> None:
    if not any(citation["document_id"] == document_id for citation in citations):
        raise SystemExit(f"{where}: no citation of the document: {citations}")


def chat(client: httpx.Client, conversation_id: str, document_id: str) -> None:
    turn = expect(
        client.post(
            f"/api/v1/conversations/{conversation_id}/messages", json={"content": QUESTION}
        ),
        200,
    )
    answer = turn["assistant_message"]
    if ANSWER_FACT not in answer["content"]:
        raise SystemExit(f"chat: the answer does not contain {ANSWER_FACT}: {answer['content']!r}")
    check_citations(answer["citations"], document_id, "chat")
    step(f"chat answered with {len(answer['citations'])} citation(s): {answer['content'][:90]!r}")


def stream(client: httpx.Client, conversation_id: str, document_id: str) -> None:
    events: list[tuple[str, Any]] = []
    url = f"/api/v1/conversations/{conversation_id}/messages/stream"
    with client.stream("POST", url, json={"content": QUESTION}) as response:
        if response.status_code != 200:
            raise SystemExit(f"stream answered {response.status_code}: {response.read()[:500]!r}")
        event = ""
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                events.append((event, json.loads(line.removeprefix("data:"))))
    names = [name for name, _ in events]
    if "token" not in names or names[-2:] != ["citations", "done"]:
        raise SystemExit(f"unexpected stream events: {names}")
    text = "".join(data["delta"] for name, data in events if name == "token")
    if ANSWER_FACT not in text:
        raise SystemExit(f"stream: the answer does not contain {ANSWER_FACT}: {text!r}")
    check_citations(events[-2][1]["citations"], document_id, "stream")
    step(f"stream sent {names.count('token')} token event(s), then citations and done")


def main(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=httpx.Timeout(10.0, read=60.0)) as client:
        log_in(client)
        bot = expect(client.post("/api/v1/bots", json={"name": "Smoke test"}), 201)
        step(f"created bot {bot['id']}")
        document_id = ready_document(client, bot["id"])
        conversation = expect(client.post(f"/api/v1/bots/{bot['id']}/conversations", json={}), 201)
        chat(client, conversation["id"], document_id)
        stream(client, conversation["id"], document_id)
    step("passed")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
