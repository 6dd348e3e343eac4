// Subject portal: the questionnaire section saves itself as the person types (LESSONS.md).
// The server's validation is the only source of truth: its errors are shown beside each field.
// Nothing typed is ever discarded: a failed save (session ended, network down) leaves the input
// in the page, says so, and warns before leaving the page with unsaved input.
// Each save names the version of the section it was made on (the hidden "version" field, updated
// from every save's answer). If the section was saved elsewhere since (a second tab, another
// device), the server refuses the save (409): autosaving stops, the input stays, and the person
// chooses to reload the saved answers or to save their own version over them. Never silently.
(function () {
  "use strict";
  var form = document.getElementById("section-form");
  if (!form || form.dataset.autosave !== "1" || !window.fetch || !window.FormData) { return; }
  var status = document.getElementById("save-status");
  var topErrors = document.getElementById("top-errors");
  var header = form.dataset.autosaveHeader || "X-Hozen-Autosave";
  var DELAY_MS = 800;
  var timer = null;
  var inFlight = false;
  var again = false;
  var dirty = false;
  var stale = false;  // the last save failed: the session or its CSRF token may have changed since
  var versionField = document.getElementById("section-version");
  var conflict = null;  // the section's version saved elsewhere, while the person has not chosen yet
  var submitAfter;  // a button pressed while a save was on its way: pressed again once it is back
  var staleNotice = document.getElementById("stale-notice");
  var keepButton = document.getElementById("stale-keep");

  function showConflict(currentVersion) {
    conflict = String(currentVersion);
    if (staleNotice) { staleNotice.hidden = false; }
    if (keepButton) { keepButton.hidden = false; }
  }

  if (keepButton) {
    keepButton.addEventListener("click", function () {
      // The person keeps their own input: saved on top of the version saved elsewhere, knowingly.
      if (conflict === null) { return; }
      if (versionField) { versionField.value = conflict; }
      conflict = null;
      if (staleNotice) { staleNotice.hidden = true; }
      keepButton.hidden = true;
      save();
    });
  }

  // After signing in again (in another tab), the page's CSRF token is out of date: fetch the
  // section page afresh and take its token, so the input on this page can still be saved.
  function refreshToken() {
    return fetch(window.location.pathname, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.redirected || !response.ok) { throw new Error("signed out"); }
        return response.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("#section-form input[name=csrfmiddlewaretoken]");
        var mine = form.querySelector("input[name=csrfmiddlewaretoken]");
        if (!fresh || !mine) { throw new Error("no token"); }
        mine.value = fresh.value;
        stale = false;
      });
  }

  function say(text, warn) {
    if (!status) { return; }
    status.textContent = text;
    status.classList.toggle("warn", !!warn);
  }

  function showErrors(errors) {
    var boxes = form.querySelectorAll("[data-error-for]");
    for (var i = 0; i < boxes.length; i++) {
      var key = boxes[i].getAttribute("data-error-for");
      var messages = (errors && errors[key]) || [];
      boxes[i].textContent = "";
      for (var j = 0; j < messages.length; j++) {
        var p = document.createElement("p");
        p.textContent = messages[j];
        boxes[i].appendChild(p);
      }
      var field = boxes[i].closest(".field, .q-group");
      if (field) { field.classList.toggle("has-error", messages.length > 0); }
    }
  }

  function showTop(message) {
    if (!topErrors) { return; }
    topErrors.textContent = "";
    if (message) {
      var p = document.createElement("p");
      p.textContent = message;
      topErrors.appendChild(p);
    }
    topErrors.hidden = !message;
  }

  function post() {
    var body = new FormData(form);
    body.set("action", "autosave");
    var headers = { "Accept": "application/json" };
    headers[header] = "1";
    return fetch(window.location.pathname, { method: "POST", body: body, credentials: "same-origin",
                                             headers: headers, redirect: "follow" });
  }

  function save() {
    timer = null;
    if (inFlight) { again = true; return; }
    inFlight = true;
    dirty = false;
    say(form.dataset.msgSaving, false);
    (stale ? refreshToken().then(post) : post())
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (response.redirected || type.indexOf("application/json") === -1) { throw new Error("not saved"); }
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      })
      .then(function (result) {
        showErrors(result.data.errors || {});
        if (result.ok && result.data.saved) {
          showTop("");
          if (versionField && result.data.version !== undefined) { versionField.value = result.data.version; }
          var when = new Date(result.data.saved_at);
          var hhmm = ("0" + when.getHours()).slice(-2) + ":" + ("0" + when.getMinutes()).slice(-2);
          say(form.dataset.msgSaved + " " + hhmm, false);  // "保存しました 14:05": in words, no version number
        } else if (result.data.stale) {
          dirty = true;
          showConflict(result.data.current_version);
          showTop(result.data.message || form.dataset.msgStale);
          say(form.dataset.msgStale, true);
        } else {
          dirty = true;
          showTop(result.data.message || form.dataset.msgUnsaved);
          say(form.dataset.msgUnsaved, true);
        }
        // A save is activity: push the idle sign-out warning forward (hozen.js listens for this).
        document.dispatchEvent(new CustomEvent("htmx:afterRequest"));
      })
      .catch(function () {
        dirty = true;
        stale = true;
        say(form.dataset.msgOffline, true);
        showTop(form.dataset.msgOffline);
      })
      .then(function () {
        inFlight = false;
        if (submitAfter !== undefined) {
          var submitter = submitAfter;
          submitAfter = undefined;
          again = false;
          if (conflict === null) { form.requestSubmit(submitter); }
          return;
        }
        if (again) { again = false; schedule(); }
      });
  }

  function schedule() {
    dirty = true;
    if (conflict !== null) { return; }  // changed elsewhere: nothing is saved until the person chooses
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(save, DELAY_MS);
  }

  // Input typed before this script ran (a slow connection loads it after the form is shown) has
  // fired no event we heard: compare each field with what the server rendered and save if any differ.
  function typedBeforeReady() {
    var fields = form.elements;
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.type === "hidden" || f.type === "submit" || f.type === "button") { continue; }
      if (f.type === "checkbox" || f.type === "radio") {
        if (f.checked !== f.defaultChecked) { return true; }
      } else if (f.tagName === "SELECT") {
        for (var j = 0; j < f.options.length; j++) {
          if (f.options[j].selected !== f.options[j].defaultSelected) { return true; }
        }
      } else if (f.value !== f.defaultValue) {
        return true;
      }
    }
    return false;
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  if (typedBeforeReady()) { schedule(); }
  form.dataset.autosaveReady = "1";
  // A button press posts the whole form the ordinary way (and saves it): nothing is left unsaved.
  // If a save failed, take a fresh token first so the post is not refused (the input stays meanwhile).
  form.addEventListener("submit", function (event) {
    if (timer) { clearTimeout(timer); timer = null; }
    if (inFlight) {
      // Wait for the save on its way: its answer carries the version this post must name.
      event.preventDefault();
      submitAfter = event.submitter || null;
      return;
    }
    if (stale) {
      event.preventDefault();
      var submitter = event.submitter || null;
      refreshToken().then(function () { dirty = false; form.requestSubmit(submitter); },
                          function () { say(form.dataset.msgOffline, true); showTop(form.dataset.msgOffline); });
      return;
    }
    dirty = false;
  });
  window.addEventListener("beforeunload", function (event) {
    if (dirty || inFlight || timer) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
})();
