// 授权接入: poll the attempt's JSON with the session cookie every two seconds until it is
// final, then show the account it bound (or the way to try again).
(function () {
  "use strict";
  var root = document.getElementById("authorization");
  if (!root) { return; }
  var FINAL = ["completed", "denied", "expired", "failed"];

  function field(name) { return root.querySelector('[data-field="' + name + '"]'); }

  function render(attempt) {
    root.dataset.status = attempt.status;
    var status = field("status");
    status.textContent = root.getAttribute("data-label-" + attempt.status) || attempt.status;
    status.className = "attempt-" + attempt.status;
    field("error").textContent = attempt.error || "";
    var done = attempt.status === "completed";
    var pending = field("pending");
    if (pending && FINAL.indexOf(attempt.status) >= 0) { pending.hidden = true; }
    field("done").hidden = !done;
    if (done && attempt.account_id && field("account")) {
      field("account").href = root.dataset.edit.replace("ACCOUNT", encodeURIComponent(attempt.account_id));
    }
    field("retry").hidden = ["denied", "expired", "failed"].indexOf(attempt.status) < 0;
  }

  function tick() {
    fetch(root.dataset.source, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw response.status; }
        return response.json();
      })
      .then(function (attempt) {
        render(attempt);
        if (FINAL.indexOf(attempt.status) < 0) { setTimeout(tick, 2000); }
      })
      .catch(function () { setTimeout(tick, 5000); });
  }

  if (FINAL.indexOf(root.dataset.status) < 0) { setTimeout(tick, 1000); }
}());
