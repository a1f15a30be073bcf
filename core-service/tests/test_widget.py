"""The widget's files and hosted page as HTTP sees them, and the bot's widget settings."""

import re
import uuid

import httpx

from testsupport.core_users import signup

CSP_DIRECTIVES = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "connect-src": "'self'",
    "img-src": "'self' data:",
    "base-uri": "'none'",
    "form-action": "'none'",
}


def _csp(header: str) -> dict[str, str]:
    return dict(
        (part.strip().split(" ", 1) + [""])[:2] for part in header.split(";") if part.strip()
    )


async def test_widget_js_is_javascript_any_site_may_load_and_caches_by_its_etag(
    core_client: httpx.AsyncClient,
) -> None:
    first = await core_client.get("/widget.js")
    again = await core_client.get("/widget.js", headers={"If-None-Match": first.headers["etag"]})

    assert first.status_code == 200
    assert first.headers["content-type"] == "text/javascript; charset=utf-8"
    assert first.headers["cache-control"] == "public, max-age=3600"
    assert first.headers["cross-origin-resource-policy"] == "cross-origin"
    assert first.headers["x-content-type-options"] == "nosniff"
    assert "/embed?key=" in first.text
    assert again.status_code == 304
    assert again.content == b""


async def test_the_playground_page_runs_only_its_own_code_and_nobody_may_frame_it(
    core_client: httpx.AsyncClient,
) -> None:
    page = await core_client.get(f"/embed?playground=1&bot={uuid.uuid4()}")

    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-store"
    policy = _csp(page.headers["content-security-policy"])
    assert policy == {**CSP_DIRECTIVES, "frame-ancestors": "'none'"}
    assert 'data-mode="playground"' in page.text
    # Every script and style is the page's own, on this service.
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(loaded) == 2
    assert all(url.startswith("/embed/assets/") for url in loaded)


async def test_the_pages_assets_are_cached_for_good_only_at_their_current_version(
    core_client: httpx.AsyncClient,
) -> None:
    page = await core_client.get(f"/embed?playground=1&bot={uuid.uuid4()}")
    script_url = re.search(r'src="(/embed/assets/embed\.js\?v=\w+)"', page.text)
    assert script_url is not None

    current = await core_client.get(script_url.group(1))
    stale = await core_client.get("/embed/assets/embed.js?v=0ld")
    style = await core_client.get("/embed/assets/embed.css")
    unknown = await core_client.get("/embed/assets/secrets.py")

    assert current.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert current.headers["content-type"] == "text/javascript; charset=utf-8"
    assert stale.headers["cache-control"] == "no-cache"
    assert style.headers["content-type"] == "text/css; charset=utf-8"
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "NotFound"


async def test_embed_without_a_key_or_playground_bot_is_a_client_mistake(
    core_client: httpx.AsyncClient,
) -> None:
    for query in ("", "?playground=1", "?key=", "?bot=" + str(uuid.uuid4())):
        answer = await core_client.get("/embed" + query)
        assert answer.status_code == 422, query
        assert answer.json()["error"] == "EmbedTargetMissing"


async def test_the_owner_sets_the_widget_title_greeting_and_a_validated_color(
    core_client: httpx.AsyncClient,
) -> None:
    owner = await signup(core_client)
    created = await core_client.post("/api/v1/bots", json={"name": "Helper"}, headers=owner.headers)
    bot_url = f"/api/v1/bots/{created.json()['id']}"
    defaults = created.json()["configuration"]["widget"]
    set_all = await core_client.patch(
        bot_url,
        json={"configuration": {"widget": {"title": "Support", "greeting": "Hi there"}}},
        headers=owner.headers,
    )
    set_color = await core_client.patch(
        bot_url, json={"configuration": {"widget": {"color": "#0F766E"}}}, headers=owner.headers
    )
    refused = [
        await core_client.patch(
            bot_url, json={"configuration": {"widget": {"color": color}}}, headers=owner.headers
        )
        for color in ("red", "#12345", "#0f766e; background: url(x)", "#gggggg")
    ]

    assert defaults == {"title": "", "greeting": "Hi! Ask me a question.", "color": "#2563eb"}
    assert set_all.status_code == 200
    # A partial widget update keeps the fields it does not name.
    assert set_color.json()["configuration"]["widget"] == {
        "title": "Support",
        "greeting": "Hi there",
        "color": "#0F766E",
    }
    assert [answer.status_code for answer in refused] == [422] * 4


async def _bot_with_key(
    client: httpx.AsyncClient, name: str, origins: list[str]
) -> tuple[dict[str, str], str, str]:
    owner = await signup(client)
    bot = await client.post(
        "/api/v1/bots",
        json={"name": name, "configuration": {"widget": {"color": "#0f766e"}}},
        headers=owner.headers,
    )
    keys_url = f"/api/v1/bots/{bot.json()['id']}/keys"
    publishable = await client.post(
        keys_url,
        json={"name": "site", "kind": "publishable", "allowed_origins": origins},
        headers=owner.headers,
    )
    secret = await client.post(
        keys_url, json={"name": "server", "kind": "secret"}, headers=owner.headers
    )
    return owner.headers, publishable.json()["key"], secret.json()["key"]


async def test_a_key_page_shows_the_bots_settings_and_only_its_sites_may_frame_it(
    core_client: httpx.AsyncClient,
) -> None:
    origins = ["http://127.0.0.2:8080", "https://shop.example"]
    _, key, _ = await _bot_with_key(core_client, '<b onclick="x()">Shop</b>', origins)

    page = await core_client.get(f"/embed?key={key}")

    assert page.status_code == 200
    policy = _csp(page.headers["content-security-policy"])
    assert policy == {**CSP_DIRECTIVES, "frame-ancestors": " ".join(origins)}
    assert 'data-mode="key"' in page.text
    assert 'data-color="#0f766e"' in page.text
    # The bot's name is the title when the owner set none, and it is text, never markup.
    assert "&lt;b onclick=&quot;x()&quot;&gt;Shop&lt;/b&gt;" in page.text
    assert "<b onclick" not in page.text


async def test_a_secret_an_unknown_or_a_revoked_key_gets_no_page(
    core_client: httpx.AsyncClient,
) -> None:
    owner_headers, key, secret = await _bot_with_key(core_client, "Shop", ["https://shop.example"])
    secret_page = await core_client.get(f"/embed?key={secret}")
    unknown_page = await core_client.get("/embed?key=pk_unknown")
    bot_id = (await core_client.get("/api/v1/bots", headers=owner_headers)).json()["items"][0]["id"]
    keys = await core_client.get(f"/api/v1/bots/{bot_id}/keys", headers=owner_headers)
    for listed in keys.json()["items"]:
        await core_client.delete(
            f"/api/v1/bots/{bot_id}/keys/{listed['id']}", headers=owner_headers
        )
    revoked_page = await core_client.get(f"/embed?key={key}")

    assert secret_page.status_code == 422
    assert secret_page.json()["error"] == "PublishableKeyRequired"
    assert secret not in secret_page.text
    assert unknown_page.status_code == 404
    assert revoked_page.status_code == 404


async def test_the_hosted_pages_own_calls_are_admitted_for_its_key_and_nothing_else_is(
    core_client: httpx.AsyncClient,
) -> None:
    _, key, _ = await _bot_with_key(core_client, "Shop", ["https://shop.example"])

    async def session_from(origin: str | None, fetch_site: str | None) -> int:
        headers = {"Authorization": f"Bearer {key}"}
        headers |= {"Origin": origin} if origin else {}
        headers |= {"Sec-Fetch-Site": fetch_site} if fetch_site else {}
        answer = await core_client.post("/api/v1/public/sessions", json={}, headers=headers)
        return answer.status_code

    # The browser's view of the hosted page on this service (Host: core.test).
    assert await session_from("http://core.test", "same-origin") == 201
    assert await session_from(None, "same-origin") == 201  # a same-origin GET has no Origin
    assert await session_from("https://shop.example", "cross-site") == 201
    # A page elsewhere cannot pass for the hosted page: the browser says where it is.
    assert await session_from("http://core.test", "cross-site") == 403
    assert await session_from("https://evil.example", "same-origin") == 403
    assert await session_from(None, None) == 403
    assert await session_from("http://core.test", None) == 403
