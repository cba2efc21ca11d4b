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

  // Snoozing needs a time: the "Snooze until" field is required while "Snoozed" is chosen.
  function syncSnooze() {
    document.querySelectorAll("form.js-status").forEach(function (form) {
      var select = form.querySelector("select[name=status]");
      var until = form.querySelector("input[name=snoozed_until]");
      if (select && until) until.required = select.value === "snoozed";
    });
  }
  syncSnooze();
  document.addEventListener("change", function (ev) {
    if (ev.target.name === "status" && ev.target.form && ev.target.form.classList.contains("js-status")) syncSnooze();
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
        Object.keys(deliveries).forEach(function (id) { showDelivery(deliveries[id]); });
        scrollDown();
      })
      .catch(function () {})
      .then(function () {
        fetchingMessages = false;
        if (againMessages) { againMessages = false; refreshMessages(); }
      });
  }

  // Email delivery beside agent and bot messages (sending / retrying / sent / failed), live from
  // "email.delivery" events. The latest event of each message is kept: a message fragment
  // fetched before that event committed still shows the newer state once it arrives.
  var deliveries = {};
  var deliveriesSince = null;
  function clock(iso) { return iso ? String(iso).slice(11, 19) + " UTC" : ""; }
  function showDelivery(d) {
    var box = document.querySelector('[data-delivery-for="' + d.message_id + '"]');
    if (!box) return;
    var label = document.createElement("span");
    label.className = "delivery-label";
    if (d.state === "sending") label.textContent = "Email: sending\u2026";
    else if (d.state === "retrying") {
      label.appendChild(document.createTextNode("Email: retrying (attempt " + d.attempts + ", next at "));
      var when = document.createElement("time");
      when.setAttribute("datetime", d.next_attempt_at || "");
      when.textContent = clock(d.next_attempt_at);
      label.appendChild(when);
      label.appendChild(document.createTextNode(")"));
    } else if (d.state === "sent") label.textContent = "Email sent to " + d.to;
    else label.textContent = "Email failed after " + d.attempts + " attempts";
    var parts = [label];
    if (d.error) {
      var error = document.createElement("span");
      error.className = "delivery-error";
      error.textContent = d.error;
      parts.push(error);
    }
    if (d.state === "failed") {
      var form = document.createElement("form");
      form.method = "post";
      form.action = "/inbox/c/" + box.getAttribute("data-conversation") + "/emails/" + d.id + "/retry";
      form.className = "js-retry";
      var token = document.createElement("input");
      token.type = "hidden"; token.name = "csrf_token"; token.value = csrf;
      var button = document.createElement("button");
      button.type = "submit"; button.className = "delivery-retry"; button.textContent = "Retry";
      form.appendChild(token); form.appendChild(button);
      parts.push(form);
    }
    box.className = "delivery delivery-" + d.state;
    box.setAttribute("data-state", d.state);
    box.replaceChildren.apply(box, parts);
  }
  function onDelivery(data) {
    var d = data.delivery;
    if (!d || !d.message_id || !conversationId || String(data.conversation_id) !== conversationId) return;
    deliveries[d.message_id] = d;
    if (deliveriesSince) deliveriesSince[d.message_id] = d;
    showDelivery(d);
  }
  // After a reconnect (events may have been missed): every delivery state from the server.
  function refreshDeliveries() {
    if (!conversationId || !transcript || !document.querySelector("[data-delivery-for]")) return;
    deliveriesSince = {};
    get("/inbox/c/" + conversationId + "/messages?after_seq=0").then(function (html) {
      parse(html).querySelectorAll("[data-delivery-for]").forEach(function (fresh) {
        var old = document.querySelector('[data-delivery-for="' + fresh.getAttribute("data-delivery-for") + '"]');
        if (old) old.replaceWith(document.importNode(fresh, true));
      });
      var newer = deliveriesSince || {};
      Object.keys(newer).forEach(function (id) { showDelivery(newer[id]); });
    }).catch(function () {}).then(function () { deliveriesSince = null; });
  }
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.classList || !form.classList.contains("js-retry")) return;
    ev.preventDefault();
    var button = form.querySelector("button");
    if (button) button.disabled = true;
    fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "X-CSRF-Token": csrf }
    }).then(function (r) {
      if (!r.ok) {
        return r.text().then(function (html) {
          var err = parse(html).querySelector(".error");
          showError(err ? err.textContent : "Could not retry (" + r.status + ").", form);
          if (button) button.disabled = false;
        });
      }
    }).catch(function () {
      showError("Could not retry: no connection.", form);
      if (button) button.disabled = false;
    });
  });

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
      syncSnooze();
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

  // SLA badges (F31): "2h 10m left", amber once the warning is due, red once breached. The
  // server renders them; this keeps their text current between refreshes (same wording as
  // frontdesk.automation.sla.span_text).
  function slaSpan(ms) {
    var total = Math.floor(Math.abs(ms) / 60000);
    if (total < 1) return "<1m";
    var days = Math.floor(total / 1440), hours = Math.floor((total % 1440) / 60), minutes = total % 60;
    if (days) return hours ? days + "d " + hours + "h" : days + "d";
    if (hours) return minutes ? hours + "h " + minutes + "m" : hours + "h";
    return minutes + "m";
  }
  function tickSla() {
    var now = Date.now();
    document.querySelectorAll("[data-sla-badge][data-sla-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-sla-due"));
      if (isNaN(due)) return;
      var warn = Date.parse(el.getAttribute("data-sla-warn") || "");
      var level = el.getAttribute("data-sla-level") || "ok";
      if (due <= now) {
        level = "breached";
        el.textContent = "breached " + slaSpan(now - due) + " ago";
      } else {
        if (level === "ok" && !isNaN(warn) && warn <= now) level = "warning";
        el.textContent = slaSpan(due - now) + " left";
      }
      el.className = "badge sla sla-" + level;
      el.setAttribute("data-sla-level", level);
    });
  }
  setInterval(tickSla, 30000);

  // SLA alerts ("sla.alert" on the workspace channel) go to the conversation's team: its
  // members and its assignee see a notice; a conversation without a team concerns everyone.
  function slaAlertIsMine(data) {
    var list = document.getElementById("list");
    if (!list) return true;
    if (data.assignee_id != null && String(data.assignee_id) === list.getAttribute("data-me")) return true;
    if (data.team_id == null) return true;
    return (list.getAttribute("data-my-teams") || "").split(",").indexOf(String(data.team_id)) !== -1;
  }
  function showSlaAlert(data) {
    var box = document.getElementById("sla-alerts");
    if (!box) {
      box = document.createElement("div");
      box.id = "sla-alerts";
      box.className = "sla-alerts";
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      body.appendChild(box);
    }
    var breached = data.kind === "breached";
    var notice = document.createElement("div");
    notice.className = "sla-alert sla-alert-" + (breached ? "breached" : "warning");
    notice.setAttribute("data-sla-alert", breached ? "breached" : "warning");
    var link = document.createElement("a");
    link.href = "/inbox/c/" + encodeURIComponent(String(data.conversation_id)) + (listQuery ? "?" + listQuery : "");
    link.textContent = (breached ? "SLA breached: " : "SLA warning: ") + (data.target_label || data.target) +
      " of #" + data.conversation_id + (data.policy ? " (" + data.policy + ")" : "");
    var close = document.createElement("button");
    close.type = "button";
    close.className = "link";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "\u00d7";
    close.addEventListener("click", function () { notice.remove(); });
    notice.appendChild(link);
    notice.appendChild(close);
    box.appendChild(notice);
    while (box.children.length > 5) box.removeChild(box.firstChild);
    setTimeout(function () { notice.remove(); }, 30000);
  }

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
        if (connectedOnce) { refreshMessages(); refreshList(); refreshDetails(); refreshDeliveries(); }
        connectedOnce = true;
        return;
      }
      if (data.type === "message.created") {
        if (conversationId && String(data.conversation_id) === conversationId) refreshMessages();
        refreshList();
      } else if (data.type === "email.delivery") {
        onDelivery(data);
      } else if (data.type === "sla.alert") {
        if (slaAlertIsMine(data)) showSlaAlert(data);
        refreshList();
        if (conversationId && String(data.conversation_id) === conversationId) refreshDetails();
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
