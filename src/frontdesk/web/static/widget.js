/*
 * Frontdesk chat widget. Paste into any page:
 *
 *   <script src="https://HOST/widget.js" data-workspace="SLUG" async></script>
 *
 * Optional identity of a logged-in user: data-user-id + data-user-hash (hex HMAC-SHA256 of the
 * user id with the workspace's identity secret, computed on your server), data-name,
 * data-email, data-locale; or window.FrontdeskSettings = {userId, userHash, name, email,
 * attributes, locale} set before this script.
 *
 * Reliability: every message gets a client id and waits in an outbox (kept in localStorage)
 * until the server acknowledges it; after any reconnect the outbox is resent (the server
 * stores each client id once) and the widget asks for everything after the last sequence
 * number it saw. Text is only ever inserted with textContent: nothing a customer or an agent
 * writes can become markup.
 *
 * When the chat cannot be reached (no session: a 429, a 5xx, no network; or no connection
 * carried a message for a few seconds), the widget says so in the visitor's language and shows
 * the waiting messages as not sent, with "Try again". They stay in the outbox and still go out
 * by themselves: after the Retry-After of a 429, or as soon as a connection comes back. The
 * widget's texts come from GET /texts when the page loads, so they are in the visitor's
 * language even when no session can be opened.
 */
(function () {
  "use strict";
  if (window.FrontdeskWidget && window.FrontdeskWidget.loaded) return;

  const script =
    document.currentScript ||
    Array.prototype.slice
      .call(document.querySelectorAll("script[data-workspace]"))
      .filter((s) => /\/widget\.js(\?|$)/.test(s.src))
      .pop();
  if (!script || !script.src) return;

  const config = window.FrontdeskSettings || {};
  const data = script.dataset || {};
  const SLUG = data.workspace || config.workspace;
  if (!SLUG) {
    console.warn("Frontdesk widget: the script tag needs data-workspace");
    return;
  }
  const BASE = new URL(script.src, location.href).origin;
  const API = BASE + "/widget/v1/" + encodeURIComponent(SLUG);
  const identity = {
    userId: data.userId || config.userId || null,
    userHash: data.userHash || config.userHash || null,
    name: data.name || config.name || null,
    email: data.email || config.email || null,
    attributes: config.attributes || null,
    locale: data.locale || config.locale || null,
  };
  const KEY = "frontdesk:" + BASE + ":" + SLUG + ":";
  const SCOPE = identity.userId ? "user:" + identity.userId + ":" : "anon:";
  const ACK_TIMEOUT = 10000;
  const PING_EVERY = 20000;
  const UNSENT_AFTER = 8000; // a message no connection carried this long is shown as not sent

  // Storage that never throws (private browsing, storage disabled, quota).
  const store = {
    get(key, fallback) {
      try {
        const raw = window.localStorage.getItem(KEY + key);
        return raw === null ? fallback : JSON.parse(raw);
      } catch (e) {
        return fallback;
      }
    },
    set(key, value) {
      try {
        window.localStorage.setItem(KEY + key, JSON.stringify(value));
      } catch (e) {
        /* not persisted: the widget still works for this page */
      }
    },
  };

  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      try {
        return window.crypto.randomUUID();
      } catch (e) {
        /* insecure context: fall through */
      }
    }
    const b = new Uint8Array(16);
    if (window.crypto && window.crypto.getRandomValues) window.crypto.getRandomValues(b);
    else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.prototype.map.call(b, (x) => (x + 0x100).toString(16).slice(1)).join("");
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join("-");
  }

  const state = {
    token: null,
    texts: {
      title: "Chat",
      subtitle: "",
      open: "Open chat",
      close: "Close chat",
      placeholder: "Write a message…",
      send: "Send",
      sending: "Sending…",
      failed: "Not sent.",
      reconnecting: "Connection lost. Reconnecting…",
      offline: "We can't connect right now. Please try again in a few minutes.",
      retry: "Try again",
      you: "You",
      team: "Support",
      bot: "Assistant",
      welcome: "Hi! How can we help you today?",
      too_fast: "You are sending messages too quickly. Please wait a moment.",
      too_long: "This message is too long.",
      unavailable: "The chat is not available right now.",
      unread: "{count} new messages",
      talk_to_person: "Talk to a person",
      suggested: "Suggested articles",
      csat_question: "How would you rate the help you received?",
      csat_rating: "{rating} out of 5",
      csat_low: "Very dissatisfied",
      csat_high: "Very satisfied",
      csat_comment: "Anything you would like to add? (optional)",
      csat_thanks: "Thank you for your rating!",
      csat_thanks_comment: "Thank you for your feedback!",
      email_label: "Your email address",
      email_save: "Save",
      email_invalid: "Please enter a valid email address, such as ana@example.com.",
    },
    language: null,
    maxChars: 10000,
    conversation: null, // {id, status, last_seq}
    messages: new Map(), // id -> customer-visible message
    lastSeq: {}, // conversation id -> highest seq seen
    outbox: store.get(SCOPE + "outbox", []), // unacknowledged sends, oldest first
    failed: [], // sends the server refused (shown, not retried)
    inflight: new Map(), // client_id -> time sent on the current socket
    read: store.get(SCOPE + "read", {}), // conversation id -> seq read while open
    open: store.get("open", false) === true,
    ws: null,
    wsOpen: false,
    attempt: 0,
    reconnectTimer: null,
    pingTimer: null,
    healthyTimer: null,
    pollTimer: null,
    lastFrameAt: 0,
    stopped: false,
    statusKey: null, // which text the status line shows (it follows the texts' language)
    offline: false, // the last attempt to open a session failed (429, 5xx, network)
    httpBusy: false,
    httpSending: null, // client_id being posted over HTTP
    httpHoldUntil: 0, // after a 429 over HTTP, wait until then
    sessionPending: false,
    surveys: new Map(), // survey id -> rating card (CSAT, after a resolution)
    surveyChecked: {}, // conversation id -> the status its surveys were last fetched at
    emailForms: new Map(), // waterfall message id -> its email form (kept across renders)
  };
  if (!Array.isArray(state.outbox)) state.outbox = [];
  state.outbox.forEach((item) => (item.queuedAt = Date.now())); // restored: try them afresh

  // DOM ---------------------------------------------------------------------------------------

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const name of Object.keys(attrs)) {
        if (name === "text") node.textContent = attrs[name];
        else if (name === "className") node.className = attrs[name];
        else node.setAttribute(name, attrs[name]);
      }
    }
    (children || []).forEach((c) => node.appendChild(c));
    return node;
  }

  function chatIcon() {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS(ns, "path");
    path.setAttribute(
      "d",
      "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"
    );
    svg.appendChild(path);
    return svg;
  }

  const CSS = `
:host { all: initial; }
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
.launcher {
  position: fixed; z-index: 2147483000;
  right: max(20px, env(safe-area-inset-right)); bottom: max(20px, env(safe-area-inset-bottom));
  width: 56px; height: 56px; border-radius: 50%; border: 0; padding: 0; cursor: pointer;
  background: #0f766e; color: #fff; box-shadow: 0 4px 16px rgba(0,0,0,.25);
  display: flex; align-items: center; justify-content: center;
}
.launcher svg { width: 28px; height: 28px; fill: currentColor; }
.badge {
  position: absolute; top: -4px; right: -4px; min-width: 20px; height: 20px; padding: 0 6px;
  border-radius: 10px; background: #dc2626; color: #fff;
  font: 600 12px/20px system-ui, -apple-system, "Segoe UI", sans-serif; text-align: center;
}
.panel {
  position: fixed; z-index: 2147483001; right: 20px; bottom: 88px;
  width: 370px; height: min(600px, calc(100vh - 120px)); max-width: calc(100vw - 40px);
  display: flex; flex-direction: column; overflow: hidden;
  background: #fff; color: #111827; border-radius: 14px; box-shadow: 0 10px 40px rgba(0,0,0,.25);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans Thai",
    "Noto Sans SC", "PingFang SC", sans-serif;
  text-align: left;
}
.head { background: #0f766e; color: #fff; padding: 14px 12px 14px 16px; display: flex; gap: 8px; }
.title { margin: 0; font-size: 16px; font-weight: 600; line-height: 1.3; }
.subtitle { margin: 2px 0 0; font-size: 13px; opacity: .85; }
.close {
  margin-left: auto; flex: none; width: 40px; height: 40px; border: 0; border-radius: 8px;
  background: transparent; color: #fff; font-size: 26px; line-height: 1; cursor: pointer;
}
.status { background: #fef3c7; color: #92400e; font-size: 13px; padding: 6px 16px; }
.list {
  flex: 1; overflow-y: auto; margin: 0; padding: 12px; list-style: none;
  background: #f9fafb; overscroll-behavior: contain;
}
.welcome { color: #6b7280; text-align: center; margin: 24px 8px; }
.msg { max-width: 85%; margin: 6px 0; display: flex; flex-direction: column; align-items: flex-start; }
.bubble {
  padding: 8px 12px; border-radius: 14px; white-space: pre-wrap;
  overflow-wrap: anywhere; word-break: break-word;
}
.author { font-size: 12px; color: #6b7280; margin: 0 4px 2px; }
.note { font-size: 11px; color: #6b7280; margin: 2px 4px 0; }
.from-customer { margin-left: auto; align-items: flex-end; }
.from-customer .bubble { background: #0f766e; color: #fff; border-bottom-right-radius: 4px; }
.from-agent .bubble { background: #fff; border: 1px solid #e5e7eb; border-bottom-left-radius: 4px; }
.from-bot .bubble { background: #eef2ff; border: 1px solid #c7d2fe; border-bottom-left-radius: 4px; }
.from-system { max-width: 100%; align-items: center; }
.from-system .bubble { background: transparent; color: #6b7280; font-size: 12px; font-style: italic; }
.pending .bubble { opacity: .7; }
.bubble a { color: #3730a3; font-weight: 600; text-decoration: underline; }
.answer-title { display: block; margin: 6px 0 2px; }
.answer-note { display: block; font-size: 12px; color: #4b5563; margin-top: 6px; }
.answer-ask { display: block; margin-top: 8px; font-weight: 600; }
.choices { display: flex; flex-wrap: wrap; gap: 6px; margin: 6px 0 0; }
.choice {
  min-height: 36px; padding: 0 14px; border-radius: 18px; cursor: pointer; font: inherit;
  border: 1px solid #0f766e; background: #fff; color: #0f766e; font-weight: 600;
}
.choice:hover { background: #f0fdfa; }
.escape {
  display: flex; justify-content: flex-end; padding: 6px 10px 0; background: #fff;
  border-top: 1px solid #e5e7eb;
}
.escape button {
  border: 0; background: transparent; color: #0f766e; font: inherit; font-size: 13px;
  font-weight: 600; cursor: pointer; padding: 4px 2px; text-decoration: underline;
}
.suggestions { margin: 0; padding: 6px 10px 0; list-style: none; background: #fff; }
.suggestions-title { font-size: 12px; color: #6b7280; margin: 0 0 2px; }
.suggestions a {
  display: block; padding: 5px 2px; color: #0f766e; text-decoration: none; font-size: 14px;
  border-bottom: 1px solid #f3f4f6;
}
.suggestions a:hover { text-decoration: underline; }
.failed .bubble { background: #fee2e2; color: #991b1b; }
.failed .note { color: #991b1b; }
.retry {
  min-height: 24px; border: 0; background: transparent; color: #991b1b; font: inherit;
  font-size: 12px; font-weight: 600; cursor: pointer; padding: 0 2px; text-decoration: underline;
}
.survey-card { max-width: 100%; width: 100%; align-items: stretch; }
.survey-card .bubble.survey {
  background: #fff; border: 1px solid #99f6e4; border-radius: 12px; font-style: normal;
  color: #111827; font-size: 14px; display: flex; flex-direction: column; gap: 8px;
}
.survey-question { font-weight: 600; }
.ratings { display: flex; gap: 6px; justify-content: space-between; }
.rating {
  flex: 1; min-height: 40px; border-radius: 10px; border: 1px solid #0f766e; background: #fff;
  color: #0f766e; font: 600 16px/1 system-ui, sans-serif; cursor: pointer;
}
.rating:hover:not(:disabled) { background: #f0fdfa; }
.rating:disabled { opacity: .5; cursor: default; }
.scale { display: flex; justify-content: space-between; font-size: 11px; color: #6b7280; }
.survey-thanks { font-weight: 600; color: #0f766e; }
.survey-comment { width: 100%; min-height: 56px; font-size: 15px; }
.survey-send { align-self: flex-end; }
.email-form { display: flex; flex-direction: column; gap: 4px; margin: 6px 0 0; width: 100%; }
.email-label { font-size: 12px; color: #4b5563; margin: 0 2px; }
.email-row { display: flex; gap: 6px; }
.email-input {
  flex: 1; min-width: 0; min-height: 36px; padding: 6px 10px; font-family: inherit;
  font-size: 16px; color: #111827; background: #fff; border: 1px solid #d1d5db; border-radius: 8px;
}
.email-error { font-size: 12px; color: #991b1b; margin: 0 2px; }
.composer {
  display: flex; gap: 8px; padding: 10px; border-top: 1px solid #e5e7eb; background: #fff;
  padding-bottom: max(10px, env(safe-area-inset-bottom));
}
.input {
  flex: 1; resize: none; min-height: 42px; max-height: 120px; padding: 9px 10px;
  font-family: inherit; font-size: 16px; line-height: 1.4; color: #111827; background: #fff;
  border: 1px solid #d1d5db; border-radius: 10px;
}
.send {
  flex: none; min-height: 42px; padding: 0 16px; border: 0; border-radius: 10px; cursor: pointer;
  background: #0f766e; color: #fff; font-family: inherit; font-size: 15px; font-weight: 600;
}
.send:disabled { opacity: .5; cursor: default; }
button:focus-visible, .input:focus-visible { outline: 2px solid #f59e0b; outline-offset: 2px; }
@media (max-width: 480px) {
  .panel {
    top: 0; left: 0; right: 0; bottom: 0; width: 100%; max-width: none; height: 100%;
    height: 100dvh; border-radius: 0;
    padding-top: env(safe-area-inset-top); padding-left: env(safe-area-inset-left);
    padding-right: env(safe-area-inset-right);
  }
  .launcher.is-open { display: none; }
}
`;

  const host = el("div", { id: "frontdesk-widget", "data-frontdesk-widget": "" });
  const root = host.attachShadow({ mode: "open" });
  if (root.adoptedStyleSheets !== undefined && typeof CSSStyleSheet === "function") {
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      root.appendChild(el("style", { text: CSS }));
    }
  } else {
    root.appendChild(el("style", { text: CSS }));
  }

  const badge = el("span", { className: "badge", "data-fd": "badge", hidden: "" });
  const launcher = el(
    "button",
    { className: "launcher", type: "button", "data-fd": "launcher", "aria-expanded": "false" },
    [chatIcon(), badge]
  );
  const title = el("h2", { className: "title", "data-fd": "title" });
  const subtitle = el("p", { className: "subtitle" });
  const closeButton = el("button", { className: "close", type: "button", text: "×" });
  const statusLine = el("div", { className: "status", "data-fd": "status", role: "status", hidden: "" });
  const list = el("ol", { className: "list", "data-fd": "messages", "aria-live": "polite" });
  const input = el("textarea", { className: "input", "data-fd": "input", rows: "1" });
  const sendButton = el("button", { className: "send", type: "submit", "data-fd": "send" });
  const composer = el("form", { className: "composer" }, [input, sendButton]);
  const humanButton = el("button", { type: "button", "data-fd": "talk-to-person" });
  const escape = el("div", { className: "escape" }, [humanButton]);
  const suggestions = el("ul", { className: "suggestions", "data-fd": "suggestions", hidden: "" });
  const panel = el("section", { className: "panel", "data-fd": "panel", role: "dialog", hidden: "" }, [
    el("div", { className: "head" }, [el("div", {}, [title, subtitle]), closeButton]),
    statusLine,
    list,
    suggestions,
    escape,
    composer,
  ]);
  root.appendChild(launcher);
  root.appendChild(panel);

  function applyTexts() {
    const t = state.texts;
    title.textContent = t.title;
    subtitle.textContent = t.subtitle;
    panel.setAttribute("aria-label", t.title);
    launcher.setAttribute("aria-label", state.open ? t.close : t.open);
    closeButton.setAttribute("aria-label", t.close);
    input.setAttribute("placeholder", t.placeholder);
    input.setAttribute("aria-label", t.placeholder);
    input.setAttribute("maxlength", String(state.maxChars));
    sendButton.textContent = t.send;
    humanButton.textContent = t.talk_to_person;
    if (state.language) panel.setAttribute("lang", state.language);
    setStatus(state.statusKey);
  }

  // The status line shows one of the texts (by key) or nothing.
  function setStatus(key) {
    state.statusKey = key || null;
    statusLine.textContent = key ? state.texts[key] || "" : "";
    statusLine.hidden = !key;
  }

  // The texts a session brings, or GET /texts before there is one.
  function takeTexts(s) {
    if (s.texts) state.texts = Object.assign({}, state.texts, s.texts);
    state.language = s.language || state.language;
    if (s.limits && s.limits.max_message_chars) state.maxChars = s.limits.max_message_chars;
    applyTexts();
  }

  // Messages ----------------------------------------------------------------------------------

  function saveOutbox() {
    store.set(SCOPE + "outbox", state.outbox);
  }

  function isVisible(m) {
    return m && typeof m.id === "number" && typeof m.seq === "number" && m.kind === "message";
  }

  function addMessage(m) {
    if (!isVisible(m)) return;
    state.messages.set(m.id, m);
    const cid = m.conversation_id;
    if (!state.lastSeq[cid] || m.seq > state.lastSeq[cid]) state.lastSeq[cid] = m.seq;
    if (m.client_id) removeFromOutbox(m.client_id); // stored: no need to resend
  }

  function removeFromOutbox(clientId) {
    const before = state.outbox.length;
    state.outbox = state.outbox.filter((item) => item.client_id !== clientId);
    state.inflight.delete(clientId);
    if (state.outbox.length !== before) saveOutbox();
  }

  function setConversation(c) {
    if (!c || typeof c.id !== "number") return;
    if (!state.conversation || c.id >= state.conversation.id) {
      const changed = !state.conversation || state.conversation.id !== c.id;
      state.conversation = { id: c.id, status: c.status, last_seq: c.last_seq };
      if (changed) {
        // Messages written before the conversation was known now belong to it.
        state.outbox.forEach((item) => {
          if (item.conversation_id == null) item.conversation_id = c.id;
        });
        saveOutbox();
      }
    }
  }

  function unreadCount() {
    const c = state.conversation;
    if (!c) return 0;
    const read = state.read[c.id] || 0;
    let n = 0;
    state.messages.forEach((m) => {
      if (m.conversation_id === c.id && m.author_type !== "customer" && m.seq > read) n++;
    });
    return n;
  }

  function markRead() {
    const c = state.conversation;
    if (!c || !state.open || document.visibilityState === "hidden") return;
    const seq = state.lastSeq[c.id] || 0;
    if ((state.read[c.id] || 0) < seq) {
      state.read = {};
      state.read[c.id] = seq;
      store.set(SCOPE + "read", state.read);
    }
  }

  function authorLabel(m) {
    if (m.author_type === "customer") return null;
    if (m.author_type === "bot") return m.author_name && m.author_name !== "Bot" ? m.author_name : state.texts.bot;
    if (m.author_type === "agent") return m.author_name || state.texts.team;
    return null;
  }

  function bubble(kind, text, label, note, extra) {
    const item = el("li", { className: "msg from-" + kind + (extra ? " " + extra : "") });
    if (label) item.appendChild(el("div", { className: "author", text: label }));
    item.appendChild(el("div", { className: "bubble", text: text }));
    if (note) item.appendChild(el("div", { className: "note", text: note }));
    return item;
  }

  // A bot answer: lead, the article title as a link, the passage, a note, the question, and
  // the choices (only on the last message, while it is still the question being asked).
  function botContent(m, last) {
    const bot = (m.meta && m.meta.bot) || null;
    if (!bot) return null;
    const box = el("div", { className: "bubble" });
    if (bot.kind === "answer" && bot.article && typeof bot.article.url === "string") {
      const lines = String(m.body).split("\n");
      const url = BASE + bot.article.url;
      const titleIndex = lines.indexOf(bot.article.title);
      const before = titleIndex > 0 ? lines.slice(0, titleIndex).join("\n").trim() : "";
      const passageLines = lines
        .slice(titleIndex + 1)
        .filter((l) => l.trim() && !l.endsWith(bot.article.url) && l !== bot.ask && l !== bot.note);
      if (before) box.appendChild(el("span", { text: before }));
      const link = el("a", { href: url, target: "_blank", rel: "noopener", className: "answer-title", text: bot.article.title });
      link.setAttribute("data-fd", "article-link");
      box.appendChild(link);
      box.appendChild(el("span", { text: passageLines.join("\n") }));
      if (bot.note) box.appendChild(el("span", { className: "answer-note", text: bot.note }));
      if (bot.ask) box.appendChild(el("span", { className: "answer-ask", text: bot.ask }));
    } else {
      box.textContent = m.body;
    }
    if (Array.isArray(bot.suggestions) && bot.suggestions.length) {
      bot.suggestions.forEach((a) => {
        if (typeof a.url !== "string" || a.url.charAt(0) !== "/") return;
        const link = el("a", { href: BASE + a.url, target: "_blank", rel: "noopener", className: "answer-title", text: String(a.title) });
        link.setAttribute("data-fd", "suggested-article");
        box.appendChild(link);
      });
    }
    const wrap = [box];
    // The waterfall (nobody online): an email field, until the address is saved.
    if (bot.kind === "waterfall" && bot.ask_email === true && !emailSaved(m.conversation_id)) {
      wrap.push(emailForm(m));
    }
    if (last && Array.isArray(bot.buttons) && bot.buttons.length) {
      const row = el("div", { className: "choices" });
      bot.buttons.forEach((b) => {
        if (["yes", "no", "human"].indexOf(b.value) < 0) return;
        const button = el("button", { type: "button", className: "choice", "data-choice": b.value, text: String(b.label) });
        button.addEventListener("click", () => queueSend(String(b.label), b.value));
        row.appendChild(button);
      });
      wrap.push(row);
    }
    return wrap;
  }

  function emailSaved(conversationId) {
    let saved = false;
    state.messages.forEach((m) => {
      const bot = m.meta && m.meta.bot;
      if (m.conversation_id === conversationId && bot && bot.kind === "waterfall_email") saved = true;
    });
    return saved;
  }

  function emailForm(m) {
    const kept = state.emailForms.get(m.id);
    if (kept) return kept;
    const field = el("input", {
      className: "email-input",
      type: "email",
      name: "email",
      autocomplete: "email",
      maxlength: "320",
      placeholder: "ana@example.com",
      "aria-label": state.texts.email_label,
      "data-fd": "email-input",
    });
    const save = el("button", { type: "submit", className: "choice", "data-fd": "email-save", text: state.texts.email_save });
    const error = el("div", { className: "email-error", role: "alert", "data-fd": "email-error", hidden: "" });
    const form = el("form", { className: "email-form", "data-fd": "email-form", novalidate: "" }, [
      el("div", { className: "email-label", text: state.texts.email_label }),
      el("div", { className: "email-row" }, [field, save]),
      error,
    ]);
    const fail = (text) => {
      error.textContent = text;
      error.hidden = false;
    };
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const value = field.value.trim();
      if (!/^[^@\s<>(),;:"]+@[^@\s<>(),;:"]+$/.test(value) || value.length > 320) {
        fail(state.texts.email_invalid);
        return;
      }
      save.disabled = true;
      request("POST", "/conversations/" + m.conversation_id + "/email", { email: value }).then(
        (res) => {
          save.disabled = false;
          if (res.status === 200) {
            error.hidden = true;
            if (res.body.message) addMessage(res.body.message);
            render();
            return;
          }
          if (res.status === 401) {
            restartSession();
            return;
          }
          const problem = res.body.error || {};
          if (res.status === 429) fail(state.texts.too_fast);
          else if (res.status === 422) fail(state.texts.email_invalid);
          else fail(problem.message || state.texts.failed);
        },
        () => {
          save.disabled = false;
          fail(state.texts.failed);
        }
      );
    });
    state.emailForms.set(m.id, form);
    return form;
  }

  // Satisfaction survey (CSAT, F32): after a resolution the server may ask for a 1-5 rating,
  // shown as a card after the last message of that moment. One click stores the rating; then
  // an optional comment. Cards are kept across renders so a comment being typed survives.
  const surveyNodes = new Map(); // survey id -> {key, node}

  function loadSurveys(conversationId) {
    if (!state.token || typeof conversationId !== "number") return;
    request("GET", "/conversations/" + conversationId + "/surveys").then(
      (res) => {
        if (res.status !== 200 || !Array.isArray(res.body.surveys)) return;
        res.body.surveys.forEach((s) => {
          if (s && typeof s.id === "number" && typeof s.after_seq === "number") state.surveys.set(s.id, s);
        });
        render();
      },
      () => {}
    );
  }

  function surveyStatusChanged(c) {
    if (!c || typeof c.id !== "number" || state.surveyChecked[c.id] === c.status) return;
    state.surveyChecked[c.id] = c.status;
    loadSurveys(c.id);
  }

  function sendSurvey(s, path, body) {
    s.busy = true;
    render();
    request("POST", "/surveys/" + s.id + "/" + path, body).then(
      (res) => {
        s.busy = false;
        if (res.status === 200 && res.body.survey) state.surveys.set(s.id, res.body.survey);
        else if (res.status === 404) state.surveys.delete(s.id);
        else if (res.status === 401) restartSession();
        else if (res.status === 409 || res.status === 410) {
          state.surveys.delete(s.id);
          loadSurveys(s.conversation_id); // answered elsewhere (the email) or expired
        }
        render();
      },
      () => {
        s.busy = false;
        render();
      }
    );
  }

  function surveyCard(s) {
    const key = [s.status, s.rating, s.commented, s.busy].join(":");
    const kept = surveyNodes.get(s.id);
    if (kept && kept.key === key) return kept.node;
    const t = state.texts;
    const box = el("div", { className: "bubble survey" });
    if (s.status === "sent") {
      box.appendChild(el("span", { className: "survey-question", text: t.csat_question }));
      const row = el("div", { className: "ratings", role: "group", "aria-label": t.csat_question });
      for (let r = 1; r <= 5; r++) {
        const button = el("button", {
          type: "button",
          className: "rating",
          "data-rating": String(r),
          "aria-label": t.csat_rating.replace("{rating}", String(r)),
          text: String(r),
        });
        button.disabled = !!s.busy;
        button.addEventListener("click", () => sendSurvey(s, "rating", { rating: r }));
        row.appendChild(button);
      }
      box.appendChild(row);
      box.appendChild(el("div", { className: "scale" }, [el("span", { text: t.csat_low }), el("span", { text: t.csat_high })]));
    } else if (s.status === "answered") {
      box.appendChild(el("span", { className: "survey-thanks", text: s.commented ? t.csat_thanks_comment : t.csat_thanks }));
      if (!s.commented) {
        const area = el("textarea", {
          className: "input survey-comment",
          rows: "2",
          maxlength: "2000",
          placeholder: t.csat_comment,
          "aria-label": t.csat_comment,
          "data-fd": "survey-comment",
        });
        const send = el("button", { type: "button", className: "choice survey-send", "data-fd": "survey-send", text: t.send });
        send.disabled = !!s.busy;
        send.addEventListener("click", () => {
          const text = area.value.trim();
          if (text) sendSurvey(s, "comment", { comment: text.slice(0, 2000) });
        });
        box.appendChild(area);
        box.appendChild(send);
      }
    } else {
      return null; // expired: nothing to answer
    }
    const node = el("li", { className: "msg from-system survey-card", "data-fd": "survey", "data-survey": String(s.id), "data-state": s.status }, [box]);
    surveyNodes.set(s.id, { key: key, node: node });
    return node;
  }

  // A waiting message is shown as not sent once the widget knows it cannot deliver it now: the
  // chat was stopped, no session could be opened, or no connection carried it for UNSENT_AFTER.
  // It stays in the outbox all the same, and goes out as soon as a connection does.
  function isUnsent(item, now) {
    if (state.stopped) return true;
    if (state.offline) return !state.sessionPending;
    if (state.wsOpen || state.httpSending === item.client_id) return false;
    return now - (item.queuedAt || 0) > UNSENT_AFTER;
  }

  function unsentBubble(item) {
    const node = bubble("customer", item.text, null, state.texts.failed, "failed unsent");
    node.setAttribute("data-state", "unsent");
    if (!state.stopped) {
      const note = node.querySelector(".note");
      const retry = el("button", { type: "button", className: "retry", "data-fd": "retry", text: state.texts.retry });
      retry.addEventListener("click", retryNow);
      note.appendChild(document.createTextNode(" "));
      note.appendChild(retry);
    }
    return node;
  }

  function render() {
    const focused = root.activeElement; // an email field being typed in survives re-rendering
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    const items = [];
    const sorted = Array.from(state.messages.values()).sort(
      (a, b) => a.conversation_id - b.conversation_id || a.seq - b.seq
    );
    const lastMessage = sorted.length ? sorted[sorted.length - 1] : null;
    const cards = Array.from(state.surveys.values()).sort(
      (a, b) => a.conversation_id - b.conversation_id || a.after_seq - b.after_seq || a.id - b.id
    );
    let nextCard = 0;
    const placeCards = (m) => {
      // The survey cards that come before message m (all that are left when m is null).
      while (nextCard < cards.length) {
        const s = cards[nextCard];
        if (m && (s.conversation_id > m.conversation_id || (s.conversation_id === m.conversation_id && s.after_seq >= m.seq))) break;
        nextCard++;
        const card = surveyCard(s);
        if (card) items.push(card);
      }
    };
    sorted.forEach((m) => {
      placeCards(m);
      const kind = ["customer", "agent", "bot", "system"].indexOf(m.author_type) >= 0 ? m.author_type : "system";
      const node = bubble(kind, m.body, authorLabel(m));
      const rich = kind === "bot" ? botContent(m, m === lastMessage && !state.outbox.length) : null;
      if (rich) {
        node.replaceChild(rich[0], node.querySelector(".bubble"));
        rich.slice(1).forEach((x) => node.appendChild(x));
      }
      node.setAttribute("data-id", String(m.id));
      node.setAttribute("data-seq", String(m.seq));
      if (m.created_at) {
        const when = new Date(m.created_at);
        if (!isNaN(when.getTime())) node.setAttribute("title", when.toLocaleString());
      }
      items.push(node);
    });
    placeCards(null);
    const now = Date.now();
    let unsent = 0;
    state.outbox.forEach((item) => {
      let node;
      if (isUnsent(item, now)) {
        unsent++;
        node = unsentBubble(item);
      } else {
        node = bubble("customer", item.text, null, state.texts.sending, "pending");
      }
      node.setAttribute("data-client-id", item.client_id);
      items.push(node);
    });
    if (unsent && (state.statusKey === null || state.statusKey === "reconnecting")) setStatus("offline");
    state.failed.forEach((item) => {
      const node = bubble("customer", item.text, null, state.texts.failed + " " + item.reason, "failed");
      node.setAttribute("data-client-id", item.client_id);
      items.push(node);
    });
    if (!items.length) items.push(el("li", { className: "welcome", text: state.texts.welcome }));
    list.replaceChildren(...items);
    if (focused && focused !== root.activeElement && focused.isConnected && list.contains(focused)) {
      focused.focus({ preventScroll: true });
    }
    if (nearBottom) list.scrollTop = list.scrollHeight;
    markRead();
    const unread = state.open ? 0 : unreadCount();
    badge.hidden = unread === 0;
    badge.textContent = unread > 99 ? "99+" : String(unread);
    badge.setAttribute("aria-label", state.texts.unread.replace("{count}", String(unread)));
    sendButton.disabled = !input.value.trim();
  }

  // Open / close --------------------------------------------------------------------------------

  function setOpen(open) {
    state.open = open;
    store.set("open", open);
    panel.hidden = !open;
    launcher.classList.toggle("is-open", open);
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label", open ? state.texts.close : state.texts.open);
    render();
    if (open) {
      list.scrollTop = list.scrollHeight;
      input.focus({ preventScroll: true });
    }
  }

  launcher.addEventListener("click", () => setOpen(!state.open));
  closeButton.addEventListener("click", () => {
    setOpen(false);
    launcher.focus();
  });
  panel.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      setOpen(false);
      launcher.focus();
    }
  });

  // Sending -------------------------------------------------------------------------------------

  function autosize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 120) + "px";
  }

  input.addEventListener("input", () => {
    autosize();
    sendButton.disabled = !input.value.trim();
  });
  input.addEventListener("keydown", (e) => {
    // Enter sends, Shift+Enter breaks the line; never while an IME is composing (th, zh).
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submit();
    }
  });
  composer.addEventListener("submit", (e) => {
    e.preventDefault();
    submit();
  });

  function submit() {
    const text = input.value.trim();
    if (!text) return;
    if (text.length > state.maxChars) {
      setStatus("too_long");
      return;
    }
    input.value = "";
    autosize();
    hideSuggestions();
    queueSend(text, null);
  }

  // A message to send, typed or a button ("yes", "no", "human"): kept until acknowledged.
  function queueSend(text, intent) {
    const conversation = state.conversation;
    const item = {
      client_id: uuid(),
      text: text,
      conversation_id: conversation && conversation.status !== "closed" ? conversation.id : null,
      page_url: String(location.href).slice(0, 2000),
    };
    if (intent) item.intent = intent;
    item.queuedAt = Date.now();
    state.outbox.push(item);
    saveOutbox();
    watchUnsent();
    // Without a session the visitor is waiting on one: ask for it now, not at the next retry.
    if (!state.token) startSessionNow();
    render();
    list.scrollTop = list.scrollHeight;
    flush();
  }

  // Render again when the messages waiting now would count as not sent.
  function watchUnsent() {
    setTimeout(render, UNSENT_AFTER + 100);
  }

  // Waiting messages get a fresh chance (a new session, "Try again").
  function attemptAgain() {
    const now = Date.now();
    state.outbox.forEach((item) => (item.queuedAt = now));
    if (state.outbox.length) watchUnsent();
  }

  // "Try again" on a message that was not sent: now, over whatever can carry it.
  function retryNow() {
    if (state.stopped) return;
    attemptAgain();
    if (!state.token) startSessionNow();
    else if (state.wsOpen) flush();
    else {
      reconnectNow();
      state.httpHoldUntil = 0;
      flushHttp();
    }
    render();
  }

  humanButton.addEventListener("click", () => queueSend(state.texts.talk_to_person, "human"));

  // Suggestions while typing (F2): up to 3 articles, debounced, newest answer wins.
  let suggestTimer = null;
  let suggestSeq = 0;
  function hideSuggestions() {
    suggestSeq++;
    clearTimeout(suggestTimer);
    suggestions.hidden = true;
    suggestions.replaceChildren();
  }
  function showSuggestions(items) {
    if (!items.length || !input.value.trim()) {
      hideSuggestions();
      return;
    }
    const nodes = [el("li", { className: "suggestions-title", text: state.texts.suggested })];
    items.slice(0, 3).forEach((a) => {
      if (typeof a.url !== "string" || a.url.charAt(0) !== "/") return;
      const link = el("a", { href: BASE + a.url, target: "_blank", rel: "noopener", text: String(a.title) });
      link.setAttribute("data-fd", "suggestion");
      nodes.push(el("li", {}, [link]));
    });
    suggestions.replaceChildren(...nodes);
    suggestions.hidden = nodes.length < 2;
  }
  input.addEventListener("input", () => {
    clearTimeout(suggestTimer);
    const q = input.value.trim();
    if (q.length < 3 || !state.token) {
      hideSuggestions();
      return;
    }
    suggestTimer = setTimeout(() => {
      const mine = ++suggestSeq;
      request("GET", "/suggestions?q=" + encodeURIComponent(q.slice(0, 300))).then(
        (res) => {
          if (mine === suggestSeq && res.status === 200) showSuggestions(res.body.articles || []);
        },
        () => {}
      );
    }, 300);
  });

  function sendFrame(frame) {
    if (!state.ws || !state.wsOpen) return false;
    try {
      state.ws.send(JSON.stringify(frame));
      return true;
    } catch (e) {
      return false;
    }
  }

  function flush() {
    if (!state.wsOpen) {
      if (state.attempt >= 3) flushHttp();
      return;
    }
    const now = Date.now();
    state.outbox.forEach((item) => {
      if (state.inflight.has(item.client_id)) return;
      if (item.holdUntil && item.holdUntil > now) return;
      const ok = sendFrame({
        type: "send",
        client_id: item.client_id,
        text: item.text,
        conversation_id: item.conversation_id == null ? null : item.conversation_id,
        page_url: item.page_url || null,
        intent: item.intent || null,
      });
      if (ok) state.inflight.set(item.client_id, now);
    });
  }

  function refuse(clientId, reason) {
    const item = state.outbox.find((i) => i.client_id === clientId);
    removeFromOutbox(clientId);
    if (item) state.failed.push({ client_id: clientId, text: item.text, reason: reason });
  }

  function onSendError(frame) {
    const clientId = frame.client_id;
    state.inflight.delete(clientId);
    if (frame.code === "rate_limited") {
      const wait = Math.max(1, Number(frame.retry_after) || 5) * 1000;
      const item = state.outbox.find((i) => i.client_id === clientId);
      if (item) item.holdUntil = Date.now() + wait;
      setStatus("too_fast");
      setTimeout(() => {
        if (state.statusKey === "too_fast") setStatus(null);
        flush();
      }, wait);
    } else if (frame.code === "not_found") {
      // The conversation is gone for this customer: start a new one with this message.
      const item = state.outbox.find((i) => i.client_id === clientId);
      if (item && item.conversation_id != null) {
        item.conversation_id = null;
        saveOutbox();
        flush();
      } else refuse(clientId, frame.message || "");
    } else if (frame.code === "unauthorized") {
      restartSession();
    } else {
      const reason = /too long/i.test(frame.message || "") ? state.texts.too_long : frame.message || "";
      refuse(clientId, reason);
    }
  }

  // Server frames ---------------------------------------------------------------------------------

  function resume(conversationId) {
    sendFrame({ type: "resume", conversation_id: conversationId, after_seq: state.lastSeq[conversationId] || 0 });
  }

  function healthy() {
    state.attempt = 0;
    if (state.pollTimer) {
      clearInterval(state.pollTimer);
      state.pollTimer = null;
    }
  }

  function onFrame(frame, viaHttp) {
    state.lastFrameAt = Date.now();
    if (!viaHttp && state.wsOpen) healthy();
    switch (frame.type) {
      case "ack":
        addMessage(frame.message);
        removeFromOutbox(frame.client_id);
        if (frame.message) {
          setConversation({
            id: frame.message.conversation_id,
            status: state.conversation && state.conversation.id === frame.message.conversation_id ? state.conversation.status : "open",
            last_seq: frame.message.seq,
          });
        }
        break;
      case "message":
        addMessage(frame.message);
        break;
      case "messages":
        (frame.messages || []).forEach(addMessage);
        break;
      case "conversation": {
        const c = frame.conversation;
        setConversation(c);
        surveyStatusChanged(c); // resolved: maybe a rating card
        // The server has more than we do (another tab, a gap): fetch the rest.
        if (c && c.last_seq > (state.lastSeq[c.id] || 0)) resume(c.id);
        break;
      }
      case "error":
        if (frame.client_id) onSendError(frame);
        else console.warn("Frontdesk widget:", frame.message);
        break;
      default:
        break;
    }
    render();
  }

  // Connection ------------------------------------------------------------------------------------

  function backoff() {
    const base = Math.min(15000, 500 * Math.pow(2, state.attempt));
    state.attempt += 1;
    return base * (0.5 + Math.random()); // jitter: reconnects of many visitors spread out
  }

  // Try again after `delay` ms (a 429's Retry-After), else after a growing backoff.
  function scheduleReconnect(delay) {
    if (state.stopped || state.reconnectTimer) return;
    if (state.attempt >= 3) {
      // The WebSocket keeps failing (a proxy may block it): use plain HTTP meanwhile.
      flushHttp();
      pollHttp();
      if (!state.pollTimer) {
        state.pollTimer = setInterval(() => {
          flushHttp();
          pollHttp();
        }, 5000);
      }
    }
    state.reconnectTimer = setTimeout(() => {
      state.reconnectTimer = null;
      if (state.token) connect();
      else startSession();
    }, delay || backoff());
  }

  function reconnectNow() {
    if (state.stopped || state.wsOpen || state.ws) return;
    if (state.reconnectTimer) {
      clearTimeout(state.reconnectTimer);
      state.reconnectTimer = null;
    }
    if (state.token) connect();
    else startSession();
  }

  function connect() {
    if (state.stopped || state.ws || !state.token) return;
    let ws;
    try {
      ws = new WebSocket(API.replace(/^http/, "ws") + "/ws?token=" + encodeURIComponent(state.token));
    } catch (e) {
      scheduleReconnect();
      return;
    }
    state.ws = ws;
    ws.onopen = () => {
      state.wsOpen = true;
      state.inflight = new Map();
      // A socket that opens and dies at once (a proxy that cuts it) still counts as failing.
      clearTimeout(state.healthyTimer);
      state.healthyTimer = setTimeout(() => {
        if (state.ws === ws && state.wsOpen) healthy();
      }, 5000);
      state.lastFrameAt = Date.now();
      setStatus(null);
      if (state.conversation) resume(state.conversation.id);
      flush();
      heartbeat();
    };
    ws.onmessage = (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (frame && typeof frame === "object") onFrame(frame);
    };
    ws.onclose = (event) => {
      if (state.ws !== ws) return; // already dropped or replaced
      const wasOpen = state.wsOpen;
      state.ws = null;
      state.wsOpen = false;
      state.inflight = new Map();
      clearInterval(state.pingTimer);
      if (event.code === 4401) {
        restartSession();
        return;
      }
      if (event.code === 4403 || event.code === 4404) {
        stop();
        return;
      }
      if (wasOpen || state.outbox.length) setStatus("reconnecting");
      scheduleReconnect();
      render();
    };
  }

  function dropSocket() {
    const ws = state.ws;
    if (!ws) return;
    state.ws = null;
    state.wsOpen = false;
    state.inflight = new Map();
    clearInterval(state.pingTimer);
    try {
      ws.close();
    } catch (e) {
      /* already closed */
    }
    setStatus("reconnecting");
    scheduleReconnect();
    render();
  }

  function heartbeat() {
    clearInterval(state.pingTimer);
    state.pingTimer = setInterval(() => {
      const now = Date.now();
      // A send not acknowledged in time, or silence after a ping: the connection is dead
      // even if the browser has not noticed. Reconnecting resends the outbox.
      let stale = false;
      state.inflight.forEach((sentAt) => {
        if (now - sentAt > ACK_TIMEOUT) stale = true;
      });
      if (stale || now - state.lastFrameAt > PING_EVERY * 2 + 5000) {
        dropSocket();
        return;
      }
      if (now - state.lastFrameAt > PING_EVERY) sendFrame({ type: "ping" });
    }, 2500);
  }

  function stop() {
    state.stopped = true;
    setStatus("unavailable");
    render();
    input.disabled = true;
    sendButton.disabled = true;
  }

  // HTTP (session, and the fallback when WebSockets fail) ---------------------------------------

  function request(method, path, body) {
    const headers = { "Content-Type": "application/json" };
    if (state.token) headers.Authorization = "Bearer " + state.token;
    return fetch(API + path, {
      method: method,
      headers: headers,
      body: body ? JSON.stringify(body) : undefined,
      credentials: "omit",
      mode: "cors",
      cache: "no-store",
    }).then((response) =>
      response
        .json()
        .catch(() => ({}))
        .then((json) => ({
          status: response.status,
          body: json || {},
          retryAfter: Math.max(0, parseInt(response.headers.get("Retry-After"), 10) || 0),
        }))
    );
  }

  function flushHttp() {
    if (state.httpBusy || !state.token || state.wsOpen || !state.outbox.length) return;
    if (Date.now() < state.httpHoldUntil) return;
    state.httpBusy = true;
    const items = state.outbox.slice();
    const done = () => {
      state.httpBusy = false;
      state.httpSending = null;
    };
    const next = (i) => {
      if (i >= items.length || state.wsOpen) {
        done();
        return;
      }
      const item = items[i];
      state.httpSending = item.client_id;
      request("POST", "/messages", {
        client_id: item.client_id,
        text: item.text,
        conversation_id: item.conversation_id == null ? null : item.conversation_id,
        page_url: item.page_url || null,
        intent: item.intent || null,
      }).then(
        (res) => {
          if (res.status === 200) {
            if (state.statusKey === "offline") setStatus(null); // it got through after all
            onFrame({ type: "ack", client_id: item.client_id, message: res.body.message }, true);
            setConversation(res.body.conversation);
            next(i + 1);
            return;
          }
          done();
          const error = res.body.error || {};
          if (res.status === 401) restartSession();
          else if (res.status === 404 || res.status === 409 || res.status === 422) {
            onSendError({ client_id: item.client_id, code: error.code, message: error.message });
          } else if (res.status === 429) {
            state.httpHoldUntil = Date.now() + Math.max(1, res.retryAfter || 5) * 1000;
          }
          render(); // 429, 5xx: the poll timer tries again; meanwhile it may show as not sent
        },
        () => {
          done();
          render();
        }
      );
    };
    next(0);
  }

  function pollHttp() {
    const c = state.conversation;
    if (!c || !state.token || state.wsOpen) return;
    request("GET", "/conversations/" + c.id + "/messages?after_seq=" + (state.lastSeq[c.id] || 0)).then(
      (res) => {
        if (res.status !== 200) return;
        (res.body.messages || []).forEach(addMessage);
        setConversation(res.body.conversation);
        surveyStatusChanged(res.body.conversation);
        render();
      },
      () => {}
    );
  }

  function browserLocales() {
    return (navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language])
      .filter((l) => typeof l === "string" && l.length <= 35)
      .slice(0, 10);
  }

  function pageLocale() {
    return identity.locale ? String(identity.locale).slice(0, 35) : null;
  }

  // The languages to speak, best first: the page's data-locale, then the browser's.
  function visitorLocales() {
    const page = pageLocale();
    return (page ? [page] : []).concat(browserLocales());
  }

  function sessionBody() {
    const body = {
      visitor_token: store.get("visitor", null),
      locale: pageLocale(),
      browser_locales: browserLocales(),
      page_url: String(location.href).slice(0, 2000),
    };
    if (identity.userId) {
      body.user_id = String(identity.userId);
      body.user_hash = identity.userHash ? String(identity.userHash) : null;
      if (identity.attributes && typeof identity.attributes === "object") body.attributes = identity.attributes;
    }
    if (identity.name) body.name = String(identity.name).slice(0, 200);
    if (identity.email) body.email = String(identity.email).slice(0, 320);
    return body;
  }

  function startSession() {
    if (state.sessionPending || state.stopped) return;
    state.sessionPending = true;
    state.token = null;
    request("POST", "/session", sessionBody()).then(
      (res) => {
        state.sessionPending = false;
        if (res.status === 200) return onSession(res.body);
        const error = res.body.error || {};
        if (res.status === 401 || res.status === 403 || res.status === 404 || res.status === 422) {
          console.warn("Frontdesk widget:", error.message || res.status);
          stop();
          return;
        }
        cannotConnect(res.status === 429 ? res.retryAfter : 0);
      },
      () => {
        state.sessionPending = false;
        cannotConnect(0);
      }
    );
  }

  // No session (429, 5xx, no network): say so, and try again when a 429 said (spread over a
  // second, so that the visitors behind one address do not all come back at once), else after
  // the backoff. "Try again" and a new message try at once.
  function cannotConnect(retryAfter) {
    state.offline = true;
    setStatus("offline");
    render();
    scheduleReconnect(retryAfter ? (retryAfter + Math.random()) * 1000 : 0);
  }

  function startSessionNow() {
    if (state.reconnectTimer) {
      clearTimeout(state.reconnectTimer);
      state.reconnectTimer = null;
    }
    startSession();
  }

  function restartSession() {
    if (state.ws) {
      const ws = state.ws;
      state.ws = null;
      state.wsOpen = false;
      try {
        ws.close();
      } catch (e) {
        /* closed */
      }
    }
    state.token = null;
    startSession();
  }

  function onSession(s) {
    state.token = s.session_token;
    if (s.visitor_token) store.set("visitor", s.visitor_token);
    if (state.offline) {
      state.offline = false;
      if (state.statusKey === "offline") setStatus(null);
      attemptAgain();
    }
    takeTexts(s);
    if (s.conversation) setConversation(s.conversation);
    if (s.conversation) surveyStatusChanged(s.conversation);
    (s.messages || []).forEach(addMessage);
    render();
    connect();
  }

  window.addEventListener("online", reconnectNow);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      reconnectNow();
      render();
    }
  });

  // The texts in the visitor's language without a session (and before it answers). The
  // browser may keep them a few minutes; the session's own texts, when it opens, are the same.
  function loadTexts() {
    const query = visitorLocales().map((l) => "locale=" + encodeURIComponent(l)).join("&");
    fetch(API + "/texts" + (query ? "?" + query : ""), { credentials: "omit", mode: "cors" })
      .then((response) => (response.status === 200 ? response.json() : null))
      .then(
        (body) => {
          if (body && body.texts && !state.token) {
            takeTexts(body);
            render();
          }
        },
        () => {} // unreachable: the built-in English texts stay
      );
  }

  function mount() {
    (document.body || document.documentElement).appendChild(host);
    applyTexts();
    setOpen(state.open);
    loadTexts();
    startSession();
    if (state.outbox.length) watchUnsent();
  }

  window.FrontdeskWidget = {
    loaded: true,
    open: () => setOpen(true),
    close: () => setOpen(false),
  };
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
