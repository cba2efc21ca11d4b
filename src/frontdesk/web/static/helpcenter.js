/*
 * Frontdesk help center: tells the server which widget visitor is reading.
 *
 * The chat widget on these pages keeps its visitor token in localStorage under
 * "frontdesk:<origin>:<workspace>:visitor". This copies it into the cookie "frontdesk_visitor"
 * (path /help/<workspace>), which the server reads to record article views for the same
 * customer as the chat (F6: no article suggestions to someone who just read the help center).
 * No other script runs on these pages, and nothing here touches article content.
 */
(function () {
  "use strict";
  const slug = document.body && document.body.dataset ? document.body.dataset.workspace : null;
  if (!slug) return;
  const key = "frontdesk:" + location.origin + ":" + slug + ":visitor";
  const cookiePath = "/help/" + encodeURIComponent(slug);

  function current() {
    const found = document.cookie.split("; ").filter((c) => c.indexOf("frontdesk_visitor=") === 0)[0];
    return found ? decodeURIComponent(found.slice("frontdesk_visitor=".length)) : null;
  }

  function sync() {
    let token = null;
    try {
      token = JSON.parse(window.localStorage.getItem(key) || "null");
    } catch (e) {
      return true; // storage disabled: views stay anonymous
    }
    if (typeof token !== "string" || !/^[A-Za-z0-9_-]{8,100}$/.test(token)) return false;
    if (current() !== token) {
      document.cookie =
        "frontdesk_visitor=" + encodeURIComponent(token) + "; path=" + cookiePath +
        "; max-age=31536000; samesite=lax" + (location.protocol === "https:" ? "; secure" : "");
    }
    return true;
  }

  // The widget stores the token once its session opens: look again for a little while.
  let tries = 0;
  if (!sync()) {
    const timer = window.setInterval(() => {
      tries += 1;
      if (sync() || tries > 20) window.clearInterval(timer);
    }, 1000);
  }
  window.addEventListener("pagehide", sync);
})();
