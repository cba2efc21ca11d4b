/* Frontdesk inbox: the reply box's macro picker (F26).
   "Macros" (or "/" typed in an empty reply) opens a search; typing filters the macros the
   agent may use (name and text, any language); arrow keys choose, Enter inserts the macro
   rendered for this conversation into the reply box, Esc closes. The chosen macro's id goes
   with the reply, and the server applies its actions (tags, status, team, priority) in the
   same transaction. Text is only ever inserted with textContent or as a textarea's value. */
(function () {
  "use strict";
  var picker = document.querySelector("[data-macro-picker]");
  if (!picker) return;
  var form = picker.closest("form");
  var textarea = form && form.querySelector("textarea[name=body]");
  var idField = form && form.querySelector("[data-macro-id]");
  if (!form || !textarea || !idField) return;
  var toggle = picker.querySelector("[data-macro-toggle]");
  var panel = picker.querySelector("[data-macro-panel]");
  var search = picker.querySelector("[data-macro-search]");
  var results = picker.querySelector("[data-macro-results]");
  var chosen = picker.querySelector("[data-macro-chosen]");
  var chosenText = picker.querySelector("[data-macro-chosen-text]");
  var clearButton = picker.querySelector("[data-macro-clear]");
  var url = picker.getAttribute("data-url");

  var items = [];
  var active = -1;
  var timer = null;
  var seq = 0;
  var before = null; // the reply text before a macro replaced it

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function open() {
    panel.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
    search.focus();
    load();
  }

  function close(focusReply) {
    panel.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
    if (focusReply) textarea.focus();
  }

  function load() {
    var mine = ++seq;
    fetch(url + "?q=" + encodeURIComponent(search.value.slice(0, 200)), {
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", Accept: "application/json" }
    }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    }).then(function (data) {
      if (mine !== seq) return; // a newer search is on its way
      items = Array.isArray(data.macros) ? data.macros : [];
      active = items.length ? 0 : -1;
      show();
    }).catch(function () {
      if (mine !== seq) return;
      items = [];
      active = -1;
      results.replaceChildren(el("li", "macro-empty", "Macros could not be loaded."));
    });
  }

  function show() {
    if (!items.length) {
      results.replaceChildren(el("li", "macro-empty", search.value ? "No macro matches." : "No macros yet."));
      search.removeAttribute("aria-activedescendant");
      return;
    }
    var nodes = items.map(function (item, i) {
      var li = el("li");
      li.id = "macro-option-" + item.id;
      li.setAttribute("role", "option");
      li.setAttribute("data-macro-option", String(item.id));
      li.setAttribute("aria-selected", i === active ? "true" : "false");
      var head = el("div");
      head.appendChild(el("span", "macro-name", item.name));
      head.appendChild(el("span", "macro-scope", item.shared ? "shared" : "personal"));
      li.appendChild(head);
      if (item.error) li.appendChild(el("div", "macro-error", item.error));
      else if (item.text) li.appendChild(el("div", "macro-text", item.text));
      if (item.actions && item.actions.length) {
        li.appendChild(el("div", "macro-actions", "Then: " + item.actions.join("; ")));
      }
      li.addEventListener("mousedown", function (ev) { ev.preventDefault(); });
      li.addEventListener("click", function () { pick(i); });
      return li;
    });
    results.replaceChildren.apply(results, nodes);
    mark();
  }

  function mark() {
    Array.prototype.forEach.call(results.querySelectorAll("[role=option]"), function (li, i) {
      li.setAttribute("aria-selected", i === active ? "true" : "false");
      if (i === active) {
        search.setAttribute("aria-activedescendant", li.id);
        li.scrollIntoView({ block: "nearest" });
      }
    });
  }

  function pick(i) {
    var item = items[i];
    if (!item || item.error) return;
    if (before === null) before = textarea.value;
    textarea.value = item.text || "";
    idField.value = String(item.id);
    textarea.required = !item.has_actions;
    chosenText.replaceChildren();
    chosenText.appendChild(document.createTextNode("Macro "));
    chosenText.appendChild(el("strong", null, item.name));
    if (item.actions && item.actions.length) {
      chosenText.appendChild(document.createTextNode(" · when sent: " + item.actions.join("; ")));
    }
    chosen.hidden = false;
    picker.setAttribute("data-macro-chosen-id", String(item.id));
    close(true);
    textarea.setSelectionRange(textarea.value.length, textarea.value.length);
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function clear(restore) {
    if (restore && before !== null) textarea.value = before;
    before = null;
    idField.value = "";
    textarea.required = true;
    chosen.hidden = true;
    chosenText.replaceChildren();
    picker.removeAttribute("data-macro-chosen-id");
  }

  toggle.addEventListener("click", function () {
    if (panel.hidden) open(); else close(true);
  });
  clearButton.addEventListener("click", function () { clear(true); textarea.focus(); });

  search.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(load, 120);
  });
  search.addEventListener("keydown", function (ev) {
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      if (!items.length) return;
      var step = ev.key === "ArrowDown" ? 1 : -1;
      active = (active + step + items.length) % items.length;
      mark();
    } else if (ev.key === "Enter") {
      ev.preventDefault();
      clearTimeout(timer);
      if (active >= 0) pick(active);
    } else if (ev.key === "Escape") {
      ev.preventDefault();
      close(true);
    }
  });
  panel.addEventListener("focusout", function (ev) {
    if (!panel.contains(ev.relatedTarget) && ev.relatedTarget !== toggle) close(false);
  });

  // "/" typed into an empty reply opens the picker.
  textarea.addEventListener("keydown", function (ev) {
    if (ev.key === "/" && !textarea.value && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
      ev.preventDefault();
      open();
    }
  });

  // Sent (inbox.js resets the form): the macro was used, forget it. After the reset itself,
  // which puts a hidden field back to the value it was last given.
  form.addEventListener("reset", function () { setTimeout(function () { clear(false); }, 0); });
})();
