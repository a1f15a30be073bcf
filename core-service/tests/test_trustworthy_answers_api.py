"""Answers users can trust, through core's API: citations to the character, answered or not,
feedback on answers, and the owner's analytics listing what the bot could not answer."""

from typing import Any

import httpx
from fastapi import FastAPI

from core_service.config import Settings
from testsupport.core_content import create_bot, drain, make_worker, upload
from testsupport.core_users import SignedUpUser, signup

HANDBOOK = (
    b"Nightly backups start at 02:00 and copy every volume to the archive bucket.\n\n"
    b"The backup is skipped when the previous one is still running or when maintenance mode "
    b"is on.\n\nFault ZK-4471 means the intake valve is stuck; reset it from the service panel."
)


async def _bot(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, user: SignedUpUser
) -> tuple[str, str]:
    bot = await create_bot(client, user)
    document = (await upload(client, user, bot["id"], "handbook.txt", HANDBOOK)).json()
    await drain(make_worker(app, settings, worker_id="w1"))
    return str(bot["id"]), str(document["id"])


async def _ask(
    client: httpx.AsyncClient, user: SignedUpUser, conversation_id: str, question: str
) -> dict[str, Any]:
    answer = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"content": question},
        headers=user.headers,
    )
    assert answer.status_code == 200, answer.text
    assistant: dict[str, Any] = answer.json()["assistant_message"]
    return assistant


async def _conversation(client: httpx.AsyncClient, user: SignedUpUser, bot_id: str) -> str:
    created = await client.post(
        f"/api/v1/bots/{bot_id}/conversations", json={}, headers=user.headers
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_a_citation_names_its_document_and_points_into_its_text(
    content_client: httpx.AsyncClient, content_app: FastAPI, core_settings: Settings
) -> None:
    user = await signup(content_client)
    bot_id, document_id = await _bot(content_client, content_app, core_settings, user)
    conversation_id = await _conversation(content_client, user, bot_id)

    answer = await _ask(content_client, user, conversation_id, "What does ZK-4471 mean?")

    assert answer["answered"] is True
    assert answer["feedback"] is None
    citation = answer["citations"][0]
    assert citation["document_id"] == document_id
    assert citation["document_name"] == "handbook.txt"
    assert citation["url"] is None
    text = HANDBOOK.decode()
    passage = text[citation["start"] : citation["end"]]
    assert citation["snippet"].rstrip("…").strip() in passage
    assert "ZK-4471" in passage


async def test_a_follow_up_in_a_conversation_is_answered_from_its_topic(
    content_client: httpx.AsyncClient, content_app: FastAPI, core_settings: Settings
) -> None:
    user = await signup(content_client)
    bot_id, _ = await _bot(content_client, content_app, core_settings, user)
    conversation_id = await _conversation(content_client, user, bot_id)

    await _ask(content_client, user, conversation_id, "When do the nightly backups start?")
    follow_up = await _ask(content_client, user, conversation_id, "and when is it skipped?")

    assert follow_up["answered"] is True
    assert "maintenance mode" in follow_up["content"]


async def test_the_owners_loop_ask_thumbs_down_and_see_the_gap_in_analytics(
    content_client: httpx.AsyncClient, content_app: FastAPI, core_settings: Settings
) -> None:
    user = await signup(content_client)
    bot_id, _ = await _bot(content_client, content_app, core_settings, user)
    conversation_id = await _conversation(content_client, user, bot_id)

    good = await _ask(content_client, user, conversation_id, "When do backups start?")
    gap = await _ask(content_client, user, conversation_id, "Where is the staff canteen?")
    again = await _ask(content_client, user, conversation_id, "where is the STAFF canteen")
    assert (good["answered"], gap["answered"], again["answered"]) == (True, False, False)
    assert gap["citations"] == []

    rated = await content_client.put(
        f"/api/v1/conversations/{conversation_id}/messages/{gap['id']}/feedback",
        json={"rating": "down", "comment": "We do have a canteen."},
        headers=user.headers,
    )
    assert rated.status_code == 200, rated.text
    assert rated.json()["feedback"] == {"rating": "down", "comment": "We do have a canteen."}
    listed = await content_client.get(
        f"/api/v1/conversations/{conversation_id}/messages", headers=user.headers
    )
    stored = {message["id"]: message for message in listed.json()["items"]}
    assert stored[gap["id"]]["feedback"]["rating"] == "down"

    analytics = await content_client.get(
        f"/api/v1/bots/{bot_id}/analytics?days=7", headers=user.headers
    )
    assert analytics.status_code == 200, analytics.text
    body = analytics.json()
    assert (body["conversations"], body["messages"]) == (1, 6)
    assert body["answered_rate"] == round(1 / 3, 4)
    assert body["feedback"] == {"up": 0, "down": 1}
    [unanswered] = body["unanswered"]
    assert unanswered["count"] == 2
    assert unanswered["question"].lower().rstrip("?") == "where is the staff canteen"


async def test_feedback_is_for_answers_only_and_only_in_ones_own_conversations(
    content_client: httpx.AsyncClient, content_app: FastAPI, core_settings: Settings
) -> None:
    user = await signup(content_client)
    stranger = await signup(content_client)
    bot_id, _ = await _bot(content_client, content_app, core_settings, user)
    conversation_id = await _conversation(content_client, user, bot_id)
    answer = await _ask(content_client, user, conversation_id, "When do backups start?")
    messages = await content_client.get(
        f"/api/v1/conversations/{conversation_id}/messages", headers=user.headers
    )
    question_id = messages.json()["items"][0]["id"]
    url = f"/api/v1/conversations/{conversation_id}/messages/{{}}/feedback"

    on_question = await content_client.put(
        url.format(question_id), json={"rating": "up"}, headers=user.headers
    )
    by_stranger = await content_client.put(
        url.format(answer["id"]), json={"rating": "up"}, headers=stranger.headers
    )
    bad_rating = await content_client.put(
        url.format(answer["id"]), json={"rating": "meh"}, headers=user.headers
    )
    analytics_by_stranger = await content_client.get(
        f"/api/v1/bots/{bot_id}/analytics", headers=stranger.headers
    )

    assert (on_question.status_code, on_question.json()["error"]) == (
        422,
        "FeedbackOnUserMessage",
    )
    assert by_stranger.status_code == 404
    assert bad_rating.status_code == 422
    assert analytics_by_stranger.status_code == 404
