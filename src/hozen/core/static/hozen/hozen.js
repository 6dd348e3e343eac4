// Hozen page helpers. No inline scripts anywhere (CSP script-src 'self').
(function () {
  "use strict";
  var body = document.body;
  // The active-role selector switches on change; the button stays for keyboard and no-JS users.
  var roleSelect = document.getElementById("assignment");
  if (roleSelect) {
    roleSelect.addEventListener("change", function () { roleSelect.form.submit(); });
  }
  // The page's listeners are in place (tests wait for this before relying on them).
  document.documentElement.dataset.jsReady = "1";
  // Idle warning two minutes before the server's idle sign-out. It never reloads or clears the page,
  // so anything typed stays; "Stay signed in" pings the server to push the idle timer forward.
  if (body.dataset.signedIn !== "1") { return; }
  var idleMs = (parseInt(body.dataset.idleMinutes, 10) || 30) * 60 * 1000;
  var warnBefore = Math.min(2 * 60 * 1000, idleMs / 2);
  var box = document.getElementById("idle-warning");
  var timer = null;
  function arm() {
    if (timer) { clearTimeout(timer); }
    if (box) { box.hidden = true; }
    timer = setTimeout(function () { if (box) { box.hidden = false; document.getElementById("idle-stay").focus(); } },
                       idleMs - warnBefore);
  }
  var stay = document.getElementById("idle-stay");
  if (stay) {
    stay.addEventListener("click", function () {
      fetch(window.location.pathname, { method: "HEAD", credentials: "same-origin" }).then(arm, arm);
    });
  }
  document.addEventListener("htmx:afterRequest", arm);
  arm();
})();
