"""The widget and the hosted chat page in a real browser, against a real core process.

Chromium (Debian's, driven by Playwright) loads the pages from a core started as its image runs
it; a loopback stand-in answers as the agent, so the answer and its citations are known.
"""

import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageChops
from playwright.async_api import Browser, Page, Request, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from chatsphere_contracts.v1 import Citation
from testsupport.browser import chromium_browser, require_chromium, serving_page
from testsupport.core_content import create_bot
from testsupport.core_users import SignedUpUser, signup
from testsupport.service_process import ServiceProcess, running_uvicorn
from testsupport.stub_agent import SlowAgent, running_slow_agent

pytestmark = pytest.mark.slow

ANSWER_TOKENS = ["Backups ", "start ", "at ", "02:00 ", "every ", "night."]
DOCUMENT_NAME = "Operations handbook"
SCREENSHOT = Path(__file__).parents[2] / "docs" / "widget.png"
WIDGET = {
    "title": "Handbook helper",
    "greeting": "Hello! Ask me about backups.",
    "color": "#0f766e",
}


@dataclass(frozen=True)
class Platform:
    """A core process, its stand-in agent, and a bot with one document, ready to chat."""

    core: ServiceProcess
    agent: SlowAgent
    owner: SignedUpUser
    bot: dict[str, Any]
    document_id: str


def _core_env(database_url: str, agent_url: str) -> dict[str, str]:
    return {
        "CORE_ENVIRONMENT": "test",
        "CORE_DATABASE_URL": database_url,
        "CORE_AGENT_URL": agent_url,
        "CORE_ARGON2_MEMORY_KIB": "1024",
        "CORE_ARGON2_TIME_COST": "1",
        "CORE_ARGON2_PARALLELISM": "1",
    }


# One core process for the module (starting it is most of a test's time); each test still gets
# an emptied database through ``core_db``.
@pytest.fixture(scope="module")
def services(core_database_url: str) -> Iterator[tuple[ServiceProcess, SlowAgent]]:
    require_chromium()  # before starting anything: a missing browser skips at once
    with (
        running_slow_agent(tokens=ANSWER_TOKENS, token_interval_s=0.02) as agent,
        running_uvicorn(
            "core_service.main:create_app", _core_env(core_database_url, agent.url)
        ) as core,
    ):
        yield core, agent


@pytest.fixture
async def platform(services: tuple[ServiceProcess, SlowAgent], core_db: AsyncEngine) -> Platform:
    core, agent = services
    async with httpx.AsyncClient(base_url=core.base_url, timeout=30) as client:
        owner = await signup(client)
        bot = await create_bot(client, owner, widget=WIDGET)
        created = await client.post(
            f"/api/v1/bots/{bot['id']}/documents/text",
            json={"name": DOCUMENT_NAME, "content": "Nightly backups start at 02:00."},
            headers=owner.headers,
        )
        assert created.status_code == 202, created.text
    document_id = str(created.json()["id"])
    agent.citations = [
        Citation(chunk_id=str(uuid.uuid4()), document_id=document_id, score=0.9, snippet="02:00")
    ]
    return Platform(core=core, agent=agent, owner=owner, bot=bot, document_id=document_id)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium_browser() as started:
        yield started


def _recorded(page: Page) -> list[str]:
    urls: list[str] = []

    def record(request: Request) -> None:
        urls.append(request.url)

    page.on("request", record)
    return urls


async def _ask_and_see_the_answer(page: Page, question: str) -> None:
    """Type, press Enter, and wait for the streamed answer with its cited document."""
    chat = page.frame_locator("iframe") if await page.locator("iframe").count() else page
    field = chat.get_by_label("Your question")
    await field.fill(question)
    await field.press("Enter")
    answer = chat.locator(".msg--bot").last
    await expect(answer.locator(".msg__text")).to_have_text("".join(ANSWER_TOKENS))
    await expect(answer.locator(".msg__source")).to_have_text([DOCUMENT_NAME])


async def test_the_owner_tries_a_bot_in_the_playground_with_the_token_in_the_fragment(
    platform: Platform, browser: Browser, tmp_path: Path
) -> None:
    page = await browser.new_page(viewport={"width": 375, "height": 700})
    requests = _recorded(page)
    bot_id = platform.bot["id"]
    await page.goto(
        f"{platform.core.base_url}/embed?playground=1&bot={bot_id}"
        f"#token={platform.owner.access_token}"
    )
    await expect(page.get_by_role("heading", name=WIDGET["title"])).to_be_visible()
    await expect(page.locator(".msg--bot").first).to_have_text(WIDGET["greeting"])
    assert "#" not in page.url  # the token left the address bar

    await _ask_and_see_the_answer(page, "When do backups start?")
    await page.get_by_role("button", name="Helpful", exact=True).click()
    await expect(page.get_by_role("button", name="Helpful", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    await page.screenshot(path=tmp_path / "playground.png")

    assert requests
    assert all(url.startswith(platform.core.base_url) for url in requests)
    assert not any(platform.owner.access_token in url for url in requests)
    async with httpx.AsyncClient(base_url=platform.core.base_url) as client:
        listed = await client.get(
            f"/api/v1/bots/{bot_id}/conversations", headers=platform.owner.headers
        )
        conversation_id = listed.json()["items"][0]["id"]
        messages = await client.get(
            f"/api/v1/conversations/{conversation_id}/messages", headers=platform.owner.headers
        )
    stored = messages.json()["items"]
    assert [m["role"] for m in stored] == ["user", "assistant"]
    assert stored[1]["feedback"] == {"rating": "up", "comment": None}


async def _publishable_key(platform: Platform, origins: list[str]) -> str:
    async with httpx.AsyncClient(base_url=platform.core.base_url) as client:
        created = await client.post(
            f"/api/v1/bots/{platform.bot['id']}/keys",
            json={"name": "site", "kind": "publishable", "allowed_origins": origins},
            headers=platform.owner.headers,
        )
    assert created.status_code == 201, created.text
    return str(created.json()["key"])


def _site(core_url: str, key: str) -> str:
    """A shop's page on another origin that embeds the widget with the documented snippet."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Shop</title></head><body><h1>Our shop</h1><p>Welcome to the shop.</p>"
        f'<script src="{core_url}/widget.js" data-key="{key}" async></script></body></html>'
    )


def _update_readme_screenshot(taken: Path) -> None:
    """Copy the screenshot to the README's, unless only anti-aliasing differs (a few pixels at
    an edge): a test run leaves the work tree clean while the widget looks the same."""
    if SCREENSHOT.exists():
        with Image.open(SCREENSHOT) as kept, Image.open(taken) as new:
            changed = ImageChops.difference(kept.convert("RGB"), new.convert("RGB")).getbbox()
            same_size = kept.size == new.size
        if same_size and (changed is None or _area(changed) < 1_000):
            return
    SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copyfile(taken, SCREENSHOT)


def _area(box: tuple[int, int, int, int]) -> int:
    left, top, right, bottom = box
    return (right - left) * (bottom - top)


async def _owners_view(platform: Platform) -> list[dict[str, Any]]:
    """The bot's conversations and their messages, as the owner sees them."""
    async with httpx.AsyncClient(base_url=platform.core.base_url) as client:
        listed = await client.get(
            f"/api/v1/bots/{platform.bot['id']}/conversations", headers=platform.owner.headers
        )
        views = []
        for conversation in listed.json()["items"]:
            messages = await client.get(
                f"/api/v1/conversations/{conversation['id']}/messages",
                headers=platform.owner.headers,
            )
            views.append({**conversation, "messages": messages.json()["items"]})
    return views


async def test_a_site_embeds_the_widget_and_its_visitor_gets_a_streamed_cited_answer(
    platform: Platform, browser: Browser, tmp_path: Path
) -> None:
    pages: dict[str, str] = {}
    with serving_page(pages) as site:
        key = await _publishable_key(platform, [site])
        pages["/"] = _site(platform.core.base_url, key)
        page = await browser.new_page(viewport={"width": 1024, "height": 720})
        requests = _recorded(page)
        await page.goto(site + "/")
        await page.get_by_role("button", name="Open chat").click()
        chat = page.frame_locator("iframe[title=Chat]")
        await expect(chat.get_by_role("heading", name=WIDGET["title"])).to_be_visible()
        await _ask_and_see_the_answer(page, "When do backups start?")
        await chat.get_by_role("button", name="Helpful", exact=True).click()
        await expect(chat.get_by_role("status")).to_have_text("Thanks for your feedback.")
        await page.screenshot(path=tmp_path / "widget.png")
        _update_readme_screenshot(tmp_path / "widget.png")

    assert requests[0] == site + "/"
    # Everything after the site's own page came from the core service: nothing from elsewhere.
    assert [url for url in requests[1:] if not url.startswith(platform.core.base_url)] == []
    assert any("/api/v1/public/sessions" in url for url in requests)
    [conversation] = await _owners_view(platform)
    assert conversation["end_user_id"] is not None
    assert [m["role"] for m in conversation["messages"]] == ["user", "assistant"]
    assert conversation["messages"][1]["feedback"]["rating"] == "up"


async def test_a_site_the_key_does_not_list_gets_nothing(
    platform: Platform, browser: Browser
) -> None:
    key = await _publishable_key(platform, ["http://127.0.0.2:9"])
    with serving_page({"/": _site(platform.core.base_url, key)}, host="127.0.0.3") as site:
        page = await browser.new_page()
        requests = _recorded(page)
        await page.goto(site + "/")
        await page.get_by_role("button", name="Open chat").click()
        frame = await page.locator("iframe[title=Chat]").element_handle()
        content = await frame.content_frame()
        assert content is not None
        await content.wait_for_load_state()
        # Chromium refused to show the page there (frame-ancestors): no chat, no greeting.
        assert await content.get_by_label("Your question").count() == 0
        assert WIDGET["greeting"] not in await content.content()
        made_by_the_widget = list(requests)
        # And the page's own scripts cannot use the key either.
        direct = await page.evaluate(
            """async ([core, key]) => {
                try {
                    const headers = {Authorization: "Bearer " + key};
                    headers["Content-Type"] = "application/json";
                    const url = core + "/api/v1/public/sessions";
                    const answer = await fetch(url, {method: "POST", headers, body: "{}"});
                    return String(answer.status);
                } catch (error) {
                    return "blocked";
                }
            }""",
            [platform.core.base_url, key],
        )

    assert direct in ("blocked", "403")
    assert any("/embed?key=" in url for url in made_by_the_widget)  # asked for, then refused
    assert not any("/api/v1/public/" in url for url in made_by_the_widget)
    assert await _owners_view(platform) == []


async def test_keyboard_only_on_a_phone_sized_screen(
    platform: Platform, browser: Browser, tmp_path: Path
) -> None:
    pages: dict[str, str] = {}
    with serving_page(pages) as site:
        key = await _publishable_key(platform, [site])
        pages["/"] = _site(platform.core.base_url, key)
        page = await browser.new_page(viewport={"width": 375, "height": 700})
        await page.goto(site + "/")
        launcher = page.get_by_role("button", name="Open chat")
        await page.keyboard.press("Tab")
        await expect(launcher).to_be_focused()
        await page.keyboard.press("Enter")
        chat = page.frame_locator("iframe[title=Chat]")
        await expect(chat.get_by_label("Your question")).to_be_focused()
        await page.keyboard.type("When do backups start?")
        await page.keyboard.press("Enter")
        answer = chat.locator(".msg--bot").last
        await expect(answer.locator(".msg__text")).to_have_text("".join(ANSWER_TOKENS))
        panel = await page.locator("#chatsphere-panel").bounding_box()
        overflow = await chat.locator("html").evaluate(
            "html => html.scrollWidth - html.clientWidth"
        )
        await page.screenshot(path=tmp_path / "phone.png")
        await page.keyboard.press("Escape")
        await expect(page.locator("#chatsphere-panel")).to_be_hidden()
        await expect(launcher).to_be_focused()

    assert panel is not None
    assert (panel["width"], panel["height"]) == (375, 700)  # the whole screen on a phone
    assert overflow == 0  # nothing wider than the screen


async def test_a_visitor_who_reloads_the_page_continues_the_conversation(
    platform: Platform, browser: Browser
) -> None:
    key = await _publishable_key(platform, ["http://127.0.0.2:9"])
    page = await browser.new_page()
    await page.goto(f"{platform.core.base_url}/embed?key={key}")
    await _ask_and_see_the_answer(page, "When do backups start?")
    await page.reload()

    # The stored session and conversation bring the history back, citations included.
    await expect(page.locator(".msg--user")).to_have_text(["When do backups start?"])
    await expect(page.locator(".msg--bot .msg__text")).to_have_text(["".join(ANSWER_TOKENS)])
    await expect(page.locator(".msg__source")).to_have_text([DOCUMENT_NAME])
    assert len(await _owners_view(platform)) == 1
