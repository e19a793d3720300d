// Live progress: poll the API's dispatch/withdrawal JSON every second with the session cookie,
// and reload the failure list whenever the counts it is drawn from move.
(function () {
  "use strict";
  var root = document.getElementById("progress");
  if (!root || root.dataset.state === "done") { return; }
  var source = root.dataset.source;
  var bar = root.querySelector("progress");
  var failures = document.getElementById("failures");
  var seen = null;

  function problemsKey(run) {
    var p = run.problems || {};
    return JSON.stringify([p.total, p.retryable, p.by_kind, p.by_platform]);
  }

  function refreshFailures(run) {
    var key = problemsKey(run);
    if (!failures || key === seen) { return; }
    seen = key;
    fetch(failures.dataset.source, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html !== null) { failures.innerHTML = html; } });
  }

  function set(field, value) {
    var el = root.querySelector('[data-field="' + field + '"]');
    if (el) { el.textContent = value; }
    return el;
  }

  function render(run) {
    Object.keys(run.counts || {}).forEach(function (state) {
      var cell = root.querySelector('[data-count="' + state + '"]');
      if (cell) {
        cell.textContent = run.counts[state];
        cell.parentNode.classList.toggle("zero", run.counts[state] === 0);
      }
    });
    set("total", run.total);
    set("remaining", run.remaining);
    set("failed", (run.counts || {}).failed || 0);
    var state = set("state", root.dataset["label" + run.state.charAt(0).toUpperCase() + run.state.slice(1)] || run.state);
    if (state) { state.className = "run-" + run.state; }
    if (bar) {
      bar.max = run.total || 1;
      bar.value = run.total ? run.total - run.remaining : 1;
      bar.dataset.percent = Math.round(100 * bar.value / bar.max);
    }
    refreshFailures(run);
  }

  function tick() {
    fetch(source, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw response.status; }
        return response.json();
      })
      .then(function (run) {
        render(run);
        if (run.state === "done") {
          window.location.reload(); // the final page lists every delivery that failed, and why
        } else {
          window.setTimeout(tick, 1000);
        }
      })
      .catch(function (status) {
        if (status === 401 || status === 403 || status === 404) { return; }
        window.setTimeout(tick, 5000);
      });
  }

  window.setTimeout(tick, 1000);
}());
