// Hozen page helpers. No inline scripts anywhere (CSP script-src 'self').
(function () {
  "use strict";
  var body = document.body;
  // The active-role selector switches on change; the button stays for keyboard and no-JS users.
  var roleSelect = document.getElementById("assignment");
  if (roleSelect) {
    roleSelect.addEventListener("change", function () { roleSelect.form.submit(); });
  }
  // On a phone the main navigation folds behind a "Menu" button (without JavaScript it stays open):
  // the header and the menu no longer take a third of the screen before the page's own content.
  var menuButton = document.querySelector(".main-nav .menu-toggle");
  if (menuButton) {
    var nav = menuButton.closest(".main-nav");
    nav.classList.add("foldable");
    menuButton.hidden = false;
    menuButton.addEventListener("click", function () {
      var open = menuButton.getAttribute("aria-expanded") !== "true";
      menuButton.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("open", open);
    });
  }
  // Error summary (GOV.UK pattern): it takes the focus when the page opens, so a screen reader reads
  // every problem at once; its links put the cursor in the field and show the field's label too.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var input = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!input) { return; }
      event.preventDefault();
      var holder = input.closest("fieldset, .field") || input;
      holder.scrollIntoView();
      input.focus({ preventScroll: true });
    });
  }
  // Slow steps: a form being sent says so and cannot be sent twice. The flag blocks a second submit
  // at once; the buttons are disabled a moment later, because a button disabled during the submit
  // event would drop its own name and value from what is sent. Released when the page is shown
  // again (the back button), and after a while for an answer that is not a new page (a download).
  var busyText = body.dataset.busyText || "\u2026";
  function submitButtons(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return (el.type === "submit" || el.type === "image") && !el.disabled;
    });
  }
  function statusOf(form, after) {
    var status = form.querySelector(".busy-status");
    if (!status) {
      status = document.createElement("span");
      status.className = "busy-status";
      status.setAttribute("role", "status");
      if (after && after.parentNode && form.contains(after)) {
        after.parentNode.insertBefore(status, after.nextSibling);
      } else {
        form.appendChild(status);
      }
    }
    return status;
  }
  function release(form) {
    if (form.dataset.busy !== "1") { return; }
    clearTimeout(form.busyTimer);
    delete form.dataset.busy;
    form.removeAttribute("aria-busy");
    Array.prototype.forEach.call(form.querySelectorAll("[data-busy-disabled]"), function (el) {
      el.disabled = false;
      el.removeAttribute("data-busy-disabled");
    });
    var status = form.querySelector(".busy-status");
    if (status) { status.textContent = ""; status.hidden = true; }
  }
  function hold(form, submitter) {
    var buttons = submitButtons(form);
    form.dataset.busy = "1";
    form.setAttribute("aria-busy", "true");
    var status = statusOf(form, submitter || buttons[buttons.length - 1]);
    setTimeout(function () {
      if (form.dataset.busy !== "1") { return; }
      buttons.forEach(function (el) { el.disabled = true; el.setAttribute("data-busy-disabled", ""); });
      status.hidden = false;
      status.textContent = busyText;
    }, 0);
    var seconds = parseInt(form.dataset.busyReleaseSeconds, 10) || 15;
    form.busyTimer = setTimeout(function () { release(form); }, seconds * 1000);
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) { return; }
    if (form.dataset.busy === "1") { event.preventDefault(); return; }
    // A script that sends the form itself (passkeys, htmx) shows its own progress; a form that
    // opens elsewhere leaves this page usable.
    if (event.defaultPrevented || form.hasAttribute("data-no-busy")) { return; }
    var target = (event.submitter && event.submitter.getAttribute("formtarget")) || form.target;
    if ((target && target !== "_self") || form.method === "dialog") { return; }
    hold(form, event.submitter);
  });
  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-busy]"), release);
  });
  // htmx requests: htmx puts its `htmx-request` class (the indicator's switch) on the element;
  // a form sent through htmx is held the same way until its answer arrives.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    var form = elt && (elt.tagName === "FORM" ? elt : elt.closest("form"));
    if (form && form.dataset.busy !== "1") { hold(form, null); }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    var form = elt && elt.tagName && (elt.tagName === "FORM" ? elt : elt.closest("form"));
    if (form) { release(form); }
  });
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
