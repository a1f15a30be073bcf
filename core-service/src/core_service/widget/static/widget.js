// ChatSphere chat widget: <script src="https://<core>/widget.js" data-key="pk_…" async></script>
// A launcher button (bottom right) opens the hosted chat page of the same core service in an
// iframe panel. Everything the chat needs is loaded from that service; nothing else is.
(function () {
  "use strict";
  const script = document.currentScript;
  if (!script || window.__chatsphereWidget) return;
  window.__chatsphereWidget = true;

  const core = new URL(script.src).origin;
  const key = script.dataset.key || "";
  const phone = window.matchMedia("(max-width: 480px)");
  let panel = null;
  let frame = null;
  let loaded = false;

  function svg(tag, attributes) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    return node;
  }

  function chatIcon() {
    const icon = svg("svg", { viewBox: "0 0 24 24", width: "28", height: "28", "aria-hidden": "true" });
    icon.append(
      svg("path", {
        d: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
        fill: "currentColor",
      }),
    );
    return icon;
  }

  // Styles are set property by property (CSSOM), which a host page's CSP does not block.
  function style(node, properties) {
    Object.assign(node.style, properties);
  }

  const launcher = document.createElement("button");
  launcher.type = "button";
  launcher.setAttribute("aria-label", "Open chat");
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "chatsphere-panel");
  launcher.dataset.chatsphere = "launcher";
  launcher.append(chatIcon());
  style(launcher, {
    position: "fixed", right: "20px", bottom: "20px", width: "56px", height: "56px",
    borderRadius: "50%", border: "0", cursor: "pointer", zIndex: "2147483000",
    background: script.dataset.color || "#2563eb", color: "#ffffff",
    display: "flex", alignItems: "center", justifyContent: "center",
    boxShadow: "0 4px 14px rgba(0, 0, 0, 0.25)",
  });

  function place() {
    if (!panel) return;
    const full = phone.matches;
    style(panel, {
      right: full ? "0" : "20px", bottom: full ? "0" : "88px",
      width: full ? "100%" : "min(380px, calc(100vw - 40px))",
      height: full ? "100%" : "min(600px, calc(100vh - 108px))",
      borderRadius: full ? "0" : "12px",
    });
  }

  function createPanel() {
    panel = document.createElement("div");
    panel.id = "chatsphere-panel";
    panel.dataset.chatsphere = "panel";
    style(panel, {
      position: "fixed", zIndex: "2147483001", overflow: "hidden", display: "none",
      boxShadow: "0 8px 30px rgba(0, 0, 0, 0.3)", background: "#ffffff",
    });
    frame = document.createElement("iframe");
    frame.src = core + "/embed?key=" + encodeURIComponent(key);
    frame.title = "Chat";
    style(frame, { border: "0", width: "100%", height: "100%", display: "block" });
    frame.addEventListener("load", () => {
      loaded = true;
      if (panel.style.display !== "none") {
        frame.focus();
        tell("chatsphere:open");
      }
    });
    panel.append(frame);
    document.body.append(panel);
    place();
  }

  function tell(type) {
    if (loaded) frame.contentWindow.postMessage({ type }, core);
  }

  function open() {
    if (!panel) createPanel();
    panel.style.display = "block";
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-label", "Close chat");
    frame.focus();
    tell("chatsphere:open");
  }

  function close() {
    if (!panel || panel.style.display === "none") return;
    panel.style.display = "none";
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-label", "Open chat");
    launcher.focus();
  }

  launcher.addEventListener("click", () => (panel && panel.style.display !== "none" ? close() : open()));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
  // Only the chat page this script opened may close the panel or colour the button.
  window.addEventListener("message", (event) => {
    if (event.origin !== core || !frame || event.source !== frame.contentWindow) return;
    if (event.data && event.data.type === "chatsphere:close") close();
    if (event.data && event.data.type === "chatsphere:ready" && /^#[0-9a-fA-F]{6}$/.test(event.data.color || "")) {
      launcher.style.background = event.data.color;
    }
  });
  phone.addEventListener("change", place);

  function mount() {
    document.body.append(launcher);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
