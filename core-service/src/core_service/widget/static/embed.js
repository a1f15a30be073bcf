// The hosted chat page. It talks only to the core service it was served by (same origin), in
// one of two modes: "key" (an end user, through a publishable key and the public API) or
// "playground" (the bot's owner, with the access token passed in the URL fragment).
"use strict";

(function () {
  const page = document.body.dataset;
  const log = document.getElementById("log");
  const form = document.getElementById("form");
  const input = document.getElementById("input");
  const sendButton = form.querySelector("button[type=submit]");
  const status = document.getElementById("status");
  const embedded = window.parent !== window;

  // ---- The two doors: the routes differ, the conversation is the same. ----

  // Browsers that block third-party storage throw on the mere access: keep state in memory.
  function storageOr(name) {
    try {
      const storage = window[name];
      storage.getItem("chatsphere");
      return storage;
    } catch (error) {
      const memory = new Map();
      return {
        getItem: (item) => (memory.has(item) ? memory.get(item) : null),
        setItem: (item, value) => memory.set(item, String(value)),
        removeItem: (item) => memory.delete(item),
      };
    }
  }

  function publicApi(key) {
    const localStorage = storageOr("localStorage");
    const storageKey = "chatsphere:" + key;
    let state = readStored(localStorage, storageKey);

    async function session() {
      if (state.token && state.expiresAt > Date.now() + 5000) return state.token;
      const answer = await fetch("/api/v1/public/sessions", {
        method: "POST",
        headers: { Authorization: "Bearer " + key, "Content-Type": "application/json" },
        body: "{}",
      });
      if (!answer.ok) throw await apiError(answer);
      const created = await answer.json();
      state = { token: created.session_token, expiresAt: Date.now() + created.expires_in * 1000 };
      store(localStorage, storageKey, state);
      return state.token;
    }

    return {
      base: "/api/v1/public/conversations",
      newConversationUrl: "/api/v1/public/conversations",
      authorization: async () => "Bearer " + (await session()),
      conversationId: () => state.conversationId,
      remember(id) {
        state.conversationId = id;
        store(localStorage, storageKey, state);
      },
      forget() {
        state = {};
        localStorage.removeItem(storageKey);
      },
    };
  }

  function ownerApi(botId) {
    const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
    // The token must not linger in the address bar, the history or a bookmark.
    history.replaceState(null, "", location.pathname + location.search);
    const sessionStorage = storageOr("sessionStorage");
    const storageKey = "chatsphere-playground:" + botId;
    const state = readStored(sessionStorage, storageKey);
    return {
      token,
      base: "/api/v1/conversations",
      newConversationUrl: "/api/v1/bots/" + encodeURIComponent(botId) + "/conversations",
      authorization: async () => "Bearer " + token,
      conversationId: () => state.conversationId,
      remember(id) {
        state.conversationId = id;
        store(sessionStorage, storageKey, state);
      },
      forget() {
        delete state.conversationId;
        sessionStorage.removeItem(storageKey);
      },
    };
  }

  function readStored(storage, name) {
    try {
      return JSON.parse(storage.getItem(name) || "{}") || {};
    } catch (error) {
      return {};
    }
  }

  function store(storage, name, value) {
    try {
      storage.setItem(name, JSON.stringify(value));
    } catch (error) {
      // Storage may be refused (private mode, blocked third-party storage): keep it in memory.
    }
  }

  async function apiError(answer) {
    let body = {};
    try {
      body = await answer.json();
    } catch (error) {
      body = {};
    }
    const failure = new Error(body.detail || "The chat service answered " + answer.status + ".");
    failure.status = answer.status;
    return failure;
  }

  async function call(api, method, url, body) {
    const answer = await fetch(url, {
      method,
      headers: { Authorization: await api.authorization(), "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!answer.ok) throw await apiError(answer);
    return answer;
  }

  async function conversation(api) {
    if (api.conversationId()) return api.conversationId();
    const created = await (await call(api, "POST", api.newConversationUrl, {})).json();
    api.remember(created.id);
    return created.id;
  }

  // ---- Rendering: text only (textContent), never markup from an answer. ----

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function addMessage(role, text) {
    const item = element("li", "msg msg--" + role);
    item.append(element("div", "msg__text", text));
    log.append(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  function isWebLink(url) {
    try {
      return ["http:", "https:"].includes(new URL(url).protocol);
    } catch (error) {
      return false;
    }
  }

  function showCitations(item, citations) {
    item.querySelector(".msg__sources")?.remove();
    const seen = new Set();
    const list = element("ul", "msg__sources");
    list.setAttribute("aria-label", "Sources");
    for (const citation of citations) {
      if (seen.has(citation.document_id)) continue;
      seen.add(citation.document_id);
      const source = element("li", "msg__source");
      const name = citation.document_name || "Source";
      source.title = citation.snippet || name;
      if (citation.url && isWebLink(citation.url)) {
        const link = element("a", "", name);
        link.href = citation.url;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        source.append(link);
      } else {
        source.textContent = name;
      }
      list.append(source);
    }
    if (seen.size) item.append(list);
  }

  function showFeedback(api, item, message) {
    const group = element("div", "msg__feedback");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Was this answer helpful?");
    for (const [rating, label] of [
      ["up", "Helpful"],
      ["down", "Not helpful"],
    ]) {
      const button = element("button");
      button.append(thumb(rating));
      button.type = "button";
      button.dataset.rating = rating;
      button.setAttribute("aria-label", label);
      button.setAttribute("aria-pressed", String(message.feedback?.rating === rating));
      button.addEventListener("click", () => rate(api, group, message, rating));
      group.append(button);
    }
    item.append(group);
  }

  // A drawn thumb rather than an emoji: not every system has an emoji font.
  const THUMB =
    "M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6" +
    "c-.4.4-.6.9-.6 1.4v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z";

  function thumb(rating) {
    const icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    icon.setAttribute("viewBox", "0 0 24 24");
    icon.setAttribute("width", "16");
    icon.setAttribute("height", "16");
    icon.setAttribute("aria-hidden", "true");
    if (rating === "down") icon.setAttribute("transform", "rotate(180)");
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", THUMB);
    path.setAttribute("fill", "currentColor");
    icon.append(path);
    return icon;
  }

  async function rate(api, group, message, rating) {
    const url = api.base + "/" + message.conversation_id + "/messages/" + message.id + "/feedback";
    try {
      await call(api, "PUT", url, { rating });
      for (const button of group.querySelectorAll("button")) {
        button.setAttribute("aria-pressed", String(button.dataset.rating === rating));
      }
      status.textContent = "Thanks for your feedback.";
    } catch (error) {
      status.textContent = error.message;
    }
  }

  function showAnswer(api, message, item) {
    const bubble = item || addMessage("bot", "");
    bubble.querySelector(".msg__text").textContent = message.content;
    showCitations(bubble, message.citations || []);
    showFeedback(api, bubble, message);
  }

  // ---- Streaming: fetch + ReadableStream over the server-sent events. ----

  function parseFrame(frame) {
    let name = "message";
    const data = [];
    for (const line of frame.split("\n")) {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    }
    return { name, data: data.length ? JSON.parse(data.join("\n")) : {} };
  }

  async function* events(answer) {
    const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (frame.trim()) yield parseFrame(frame);
      }
    }
  }

  async function ask(api, question) {
    const conversationId = await conversation(api);
    const url = api.base + "/" + conversationId + "/messages/stream";
    const answer = await call(api, "POST", url, { content: question });
    const item = addMessage("bot", "");
    item.setAttribute("aria-busy", "true");
    const text = item.querySelector(".msg__text");
    for await (const event of events(answer)) {
      if (event.name === "token") text.textContent += event.data.delta;
      else if (event.name === "citations") showCitations(item, event.data.citations);
      else if (event.name === "done") showAnswer(api, event.data.message, item);
      else if (event.name === "error") throw new Error(event.data.detail);
      log.scrollTop = log.scrollHeight;
    }
    item.removeAttribute("aria-busy");
  }

  async function send(api) {
    const question = input.value.trim();
    if (!question || sendButton.disabled) return;
    input.value = "";
    addMessage("user", question);
    sendButton.disabled = true;
    status.textContent = "Answering…";
    try {
      await ask(api, question);
      status.textContent = "";
    } catch (error) {
      // A lost session or conversation starts afresh on the next question.
      if (error.status === 401 || error.status === 404) api.forget();
      addMessage("error", error.message);
      status.textContent = "";
    } finally {
      sendButton.disabled = false;
      input.focus();
    }
  }

  // ---- Settings, history and the keyboard. ----

  function applySettings(settings) {
    const title = settings.title || settings.name || "Chat";
    document.getElementById("chat-title").textContent = title;
    document.title = title;
    if (/^#[0-9a-fA-F]{6}$/.test(settings.color || "")) {
      const root = document.documentElement.style;
      root.setProperty("--accent", settings.color);
      root.setProperty("--on-accent", readableOn(settings.color));
    }
    if (embedded) window.parent.postMessage({ type: "chatsphere:ready", color: settings.color }, "*");
  }

  // Black or white text, whichever reads better on the accent (WCAG relative luminance).
  function readableOn(hex) {
    const channel = (i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    const luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    return luminance > 0.179 ? "#111827" : "#ffffff";
  }

  async function ownerSettings(api, botId) {
    const bot = await (await call(api, "GET", "/api/v1/bots/" + encodeURIComponent(botId))).json();
    return { name: bot.name, ...bot.configuration.widget };
  }

  async function restoreHistory(api) {
    if (!api.conversationId()) return false;
    try {
      const url = api.base + "/" + api.conversationId() + "/messages?limit=100";
      const page = await (await call(api, "GET", url)).json();
      for (const message of page.items) {
        if (message.role === "user") addMessage("user", message.content);
        else showAnswer(api, message);
      }
      return page.items.length > 0;
    } catch (error) {
      api.forget();
      return false;
    }
  }

  function listenToKeyboard() {
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && embedded) close();
    });
    window.addEventListener("message", (event) => {
      if (event.source === window.parent && event.data?.type === "chatsphere:open") input.focus();
    });
  }

  function close() {
    window.parent.postMessage({ type: "chatsphere:close" }, "*");
  }

  async function start() {
    const playground = page.mode === "playground";
    const api = playground ? ownerApi(page.botId) : publicApi(page.key);
    document.querySelector(".chat__badge").hidden = !playground;
    const closeButton = document.querySelector(".chat__close");
    closeButton.hidden = !embedded;
    closeButton.addEventListener("click", close);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      send(api);
    });
    listenToKeyboard();
    let settings = page;
    try {
      if (playground) settings = await ownerSettings(api, page.botId);
      applySettings(settings);
    } catch (error) {
      status.textContent = error.message;
    }
    if (!(await restoreHistory(api)) && settings.greeting) addMessage("bot", settings.greeting);
    input.focus();
  }

  start();
})();
