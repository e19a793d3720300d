// The inbox's keyboard triage and live arrivals, and the conversation page's keys.
// Inbox: j/k move, Enter or o open, r reply, a assign to me, i ignore as spam, c close,
// / filter; the rows are fetched again every few seconds (new messages appear in place).
// Conversation: r or / write, 1-9 take a 常用回复, Ctrl+Enter send, a assign to me,
// i ignore, c close, u back to the inbox.
(function () {
  "use strict";
  var POLL_MS = 4000;

  function typing(event) {
    var el = event.target;
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" ||
                  el.isContentEditable);
  }

  function post(action, fields, csrf) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = action;
    fields.csrf_token = csrf;
    Object.keys(fields).forEach(function (name) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = fields[name];
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
  }

  function submit(selector) {
    var form = document.querySelector(selector);
    if (form) { form.submit(); return true; }
    return false;
  }

  // ---------------------------------------------------------------- inbox

  var inbox = document.getElementById("inbox");
  if (inbox) {
    var body = document.getElementById("inbox-rows");
    var live = document.getElementById("inbox-live");
    var selected = null;
    var known = null;

    var rows = function () { return Array.prototype.slice.call(body.querySelectorAll("tr[data-id]")); };
    var ids = function () { return rows().map(function (r) { return r.dataset.id; }); };

    var select = function (row) {
      rows().forEach(function (r) { r.classList.remove("sel"); r.removeAttribute("aria-selected"); });
      if (!row) { selected = null; return; }
      row.classList.add("sel");
      row.setAttribute("aria-selected", "true");
      row.scrollIntoView({ block: "nearest" });
      selected = row.dataset.id;
    };
    var current = function () {
      return selected ? body.querySelector('tr[data-id="' + selected + '"]') : null;
    };
    var move = function (step) {
      var list = rows();
      if (!list.length) { return; }
      var at = list.indexOf(current());
      var next = at < 0 ? 0 : Math.min(Math.max(at + step, 0), list.length - 1);
      select(list[next]);
    };
    var keep = function () {
      var fields = { back: "inbox" };
      new URLSearchParams(window.location.search).forEach(function (value, name) {
        if (name !== "cursor") { fields["keep_" + name] = value; }
      });
      return fields;
    };
    var act = function (path, extra) {
      var row = current();
      if (!row) { return; }
      var fields = keep();
      Object.keys(extra).forEach(function (k) { fields[k] = extra[k]; });
      post(inbox.dataset.base.replace("__ID__", row.dataset.id) + path, fields, inbox.dataset.csrf);
    };

    known = ids();
    document.addEventListener("keydown", function (event) {
      if (typing(event) || event.ctrlKey || event.metaKey || event.altKey) { return; }
      var row = current();
      switch (event.key) {
        case "j": move(1); break;
        case "k": move(-1); break;
        case "Enter": case "o": if (row) { window.location = row.dataset.href; } break;
        case "r": if (row) { window.location = row.dataset.href + "#reply"; } break;
        case "a": act("/assign", { user: "me" }); break;
        case "i": act("/state", { state: "ignored" }); break;
        case "c": act("/state", { state: "closed" }); break;
        case "/": var first = document.querySelector(".filters select"); if (first) { first.focus(); } break;
        default: return;
      }
      event.preventDefault();
    });
    body.addEventListener("click", function (event) {
      var row = event.target.closest("tr[data-id]");
      if (row && event.target.tagName !== "A") { select(row); }
    });

    var poll = function () {
      fetch(inbox.dataset.source, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          var holder = document.createElement("tbody");
          holder.innerHTML = html;
          var fresh = Array.prototype.map.call(holder.querySelectorAll("tr[data-id]"),
                                               function (r) { return r.dataset.id; });
          var arrived = fresh.filter(function (id) { return known.indexOf(id) < 0; });
          if (holder.innerHTML === body.innerHTML) { return; }
          body.innerHTML = holder.innerHTML;
          arrived.forEach(function (id) {
            var r = body.querySelector('tr[data-id="' + id + '"]');
            if (r) { r.classList.add("arrived"); }
          });
          if (arrived.length) {
            live.textContent = inbox.dataset.newLabel.replace("%n", arrived.length);
          }
          known = fresh;
          if (selected) { select(current()); }
        })
        .catch(function () { /* the next poll tries again */ });
    };
    window.setInterval(poll, POLL_MS);
    move(1);
  }

  // ---------------------------------------------------------------- conversation

  var conversation = document.getElementById("conversation");
  if (conversation) {
    var text = document.getElementById("reply-text");
    var templates = document.querySelectorAll("[data-template]");
    Array.prototype.forEach.call(templates, function (button) {
      button.addEventListener("click", function () {
        if (text) { text.value = button.dataset.template; text.focus(); }
      });
    });
    if (text && window.location.hash === "#reply") { text.focus(); }
    if (text) {
      text.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          text.form.submit();
        }
      });
    }
    document.addEventListener("keydown", function (event) {
      if (typing(event) || event.ctrlKey || event.metaKey || event.altKey) { return; }
      var key = event.key;
      if ((key === "r" || key === "/") && text) { text.focus(); }
      else if (/^[1-9]$/.test(key) && templates[Number(key) - 1] && text) {
        text.value = templates[Number(key) - 1].dataset.template;
        text.focus();
      }
      else if (key === "a") { if (!submit('form[data-action="assign"]')) { return; } }
      else if (key === "i") { if (!submit('form[data-action="state-ignored"]')) { return; } }
      else if (key === "c") { if (!submit('form[data-action="state-closed"]')) { return; } }
      else if (key === "u" || key === "Escape") { window.location = document.getElementById("back-to-inbox").href; }
      else { return; }
      event.preventDefault();
    });
  }
}());
