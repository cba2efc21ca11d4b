/* Frontdesk agent inbox: live updates over WS /inbox/ws, fragments fetched as HTML.
   Progressive enhancement: every form also works without this script. */
(function () {
  "use strict";
  var body = document.body;
  if (!body) return;

  // Confirm dangerous forms (no inline handlers: CSP forbids them).
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form.classList && form.classList.contains("js-confirm")) {
      if (!window.confirm(form.getAttribute("data-confirm") || "Are you sure?")) ev.preventDefault();
    }
  });

  // Snooze: tell the server the browser's timezone offset for datetime-local.
  document.querySelectorAll("input[name=tz_offset]").forEach(function (el) {
    el.value = String(new Date().getTimezoneOffset());
  });

  if (body.getAttribute("data-page") !== "inbox") return;

  var csrf = body.getAttribute("data-csrf") || "";
  var conversationId = body.getAttribute("data-conversation-id");
  var listQuery = body.getAttribute("data-list-query") || "";

  function parse(html) {
    return new DOMParser().parseFromString(html, "text/html");
  }

  function get(url) {
    return fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) {
        if (r.status === 401) { window.location.reload(); throw new Error("logged out"); }
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.text();
      });
  }

  function lastSeq() {
    var items = document.querySelectorAll("#transcript [data-seq]");
    var max = parseInt(body.getAttribute("data-last-seq") || "0", 10) || 0;
    items.forEach(function (li) { max = Math.max(max, parseInt(li.getAttribute("data-seq"), 10) || 0); });
    return max;
  }

  var transcript = document.getElementById("transcript");
  function scrollDown() { if (transcript) transcript.scrollTop = transcript.scrollHeight; }
  scrollDown();

  var fetchingMessages = false, againMessages = false;
  function refreshMessages() {
    if (!conversationId || !transcript) return;
    if (fetchingMessages) { againMessages = true; return; }
    fetchingMessages = true;
    get("/inbox/c/" + conversationId + "/messages?after_seq=" + lastSeq())
      .then(function (html) {
        var doc = parse(html);
        var have = lastSeq();
        doc.querySelectorAll("li[data-seq]").forEach(function (li) {
          if ((parseInt(li.getAttribute("data-seq"), 10) || 0) > have) {
            transcript.appendChild(document.importNode(li, true));
          }
        });
        body.setAttribute("data-last-seq", String(lastSeq()));
        scrollDown();
      })
      .catch(function () {})
      .then(function () {
        fetchingMessages = false;
        if (againMessages) { againMessages = false; refreshMessages(); }
      });
  }

  var listTimer = null;
  function refreshList() {
    if (listTimer) return;
    listTimer = setTimeout(function () {
      listTimer = null;
      var url = "/inbox/fragment?" + listQuery + (conversationId ? "&open=" + conversationId : "");
      get(url).then(function (html) {
        var doc = parse(html);
        ["views", "list"].forEach(function (id) {
          var fresh = doc.getElementById(id), old = document.getElementById(id);
          if (fresh && old) old.replaceWith(document.importNode(fresh, true));
        });
      }).catch(function () {});
    }, 150);
  }

  function refreshDetails() {
    if (!conversationId) return;
    get("/inbox/c/" + conversationId + "/details?" + listQuery).then(function (html) {
      var doc = parse(html);
      ["details-top", "details-side"].forEach(function (id) {
        var fresh = doc.getElementById(id), old = document.getElementById(id);
        if (fresh && old) old.replaceWith(document.importNode(fresh, true));
      });
      document.querySelectorAll("input[name=tz_offset]").forEach(function (el) {
        el.value = String(new Date().getTimezoneOffset());
      });
    }).catch(function () {});
  }

  // Reply and note without reloading; the new message arrives through the socket.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.classList || !form.classList.contains("js-compose")) return;
    ev.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "X-CSRF-Token": csrf }
    }).then(function (r) {
      if (r.ok) {
        form.reset();
        refreshMessages();
        refreshDetails();
      } else {
        return r.text().then(function (html) {
          var doc = parse(html), err = doc.querySelector(".error");
          showError(err ? err.textContent : "Could not send (" + r.status + ").", form);
        });
      }
    }).catch(function () { showError("Could not send: no connection.", form); })
      .then(function () { if (button) button.disabled = false; });
  });

  function showError(text, form) {
    var box = form.querySelector(".form-error");
    if (!box) { box = document.createElement("p"); box.className = "error form-error"; form.appendChild(box); }
    box.textContent = text;
  }

  // Ctrl/Cmd+Enter sends.
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && ev.target.form &&
        ev.target.form.classList.contains("js-compose")) {
      ev.preventDefault();
      ev.target.form.requestSubmit();
    }
  });

  // Live socket with reconnect and backoff.
  var delay = 500, connectedOnce = false;
  function status(text) { body.setAttribute("data-live", text); }
  function connect() {
    var proto = window.location.protocol === "https:" ? "wss:" : "ws:";
    var ws = new WebSocket(proto + "//" + window.location.host + "/inbox/ws");
    ws.onmessage = function (ev) {
      var data;
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      if (data.type === "hello") {
        status("live");
        delay = 500;
        if (connectedOnce) { refreshMessages(); refreshList(); refreshDetails(); }
        connectedOnce = true;
        return;
      }
      if (data.type === "message.created") {
        if (conversationId && String(data.conversation_id) === conversationId) refreshMessages();
        refreshList();
      } else if (data.type === "conversation.updated") {
        refreshList();
        if (conversationId && data.conversation && String(data.conversation.id) === conversationId &&
            data.change !== "message") refreshDetails();
      }
    };
    ws.onclose = function (ev) {
      status("offline");
      if (ev.code === 4401) { window.location.reload(); return; }
      setTimeout(connect, delay + Math.floor(Math.random() * 300));
      delay = Math.min(delay * 2, 15000);
    };
  }
  connect();
})();
