// The investigator's page of the seven findings (issue 15 "casework on one screen"): each item's
// form saves itself when its field is left after a change, and after a pause in typing. The
// server's validation is the only source of truth; nothing typed is discarded. Each save names
// the version of the finding it revises (the hidden "finding-versions" field, updated from every
// save's answer): a finding saved elsewhere since (another tab, a colleague) is refused (409),
// autosaving of that item stops, and the investigator chooses to reload or to save theirs over it.
(function () {
  "use strict";
  if (!window.fetch || !window.FormData) { return; }
  var IDLE_MS = 10000;  // a pause in typing; leaving the field saves at once
  var forms = document.querySelectorAll("form.finding-form[data-autosave='1']");
  var pending = 0;  // forms with input not yet saved: warn before leaving the page

  function hhmm(iso) {
    // The server's time is Japan's (the page's dates are too), whatever the browser's time zone.
    var when = new Date(iso);
    try {
      return when.toLocaleTimeString("ja-JP", { timeZone: "Asia/Tokyo", hour: "2-digit", minute: "2-digit" });
    } catch (e) {
      return ("0" + when.getHours()).slice(-2) + ":" + ("0" + when.getMinutes()).slice(-2);
    }
  }

  Array.prototype.forEach.call(forms, function (form) {
    var header = form.dataset.autosaveHeader || "X-Hozen-Autosave";
    var text = form.querySelector("textarea");
    var versions = form.querySelector("input[name='finding-versions']");
    var item = form.querySelector("input[name='finding-item']");
    var status = form.querySelector(".save-status");
    var keep = form.querySelector("button.keep-mine");
    var timer = null, inFlight = false, again = false, dirty = false, conflict = null, submitAfter;
    var savedText = null, savedStatus = "";  // what the last save stored, and what it said
    if (!text || !versions || !item) { return; }

    function setDirty(value) {
      if (value !== dirty) { pending += value ? 1 : -1; }
      dirty = value;
    }

    function say(message, warn) {
      if (!status) { return; }
      status.textContent = message;
      status.classList.toggle("warn", !!warn);
    }

    function showErrors(messages) {
      var field = text.closest(".field");
      var box = field && field.querySelector(".field-errors");
      if (!box && field && messages.length) {
        box = document.createElement("div");
        box.className = "field-errors";
        box.id = text.id + "_error";
        field.insertBefore(box, text);
      }
      if (box) {
        var described = (text.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
          return id && id !== box.id;
        });
        if (messages.length) { described.push(box.id); }
        if (described.length) { text.setAttribute("aria-describedby", described.join(" ")); } else { text.removeAttribute("aria-describedby"); }
      }
      if (box) {
        box.textContent = "";
        messages.forEach(function (m) { var p = document.createElement("p"); p.textContent = m; box.appendChild(p); });
        box.hidden = !messages.length;
      }
      if (field) { field.classList.toggle("has-error", messages.length > 0); }
      if (messages.length) { text.setAttribute("aria-invalid", "true"); } else { text.removeAttribute("aria-invalid"); }
    }

    function save() {
      timer = null;
      if (conflict !== null || !dirty) { return; }
      if (inFlight) { again = true; return; }
      if (!text.value.trim()) { setDirty(false); return; }  // an empty finding is never saved by itself; the button says why
      inFlight = true;
      setDirty(false);
      var sent = text.value;
      say(form.dataset.msgSaving, false);
      var headers = { "Accept": "application/json" };
      headers[header] = "1";
      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin", headers: headers })
        .then(function (response) {
          var type = response.headers.get("Content-Type") || "";
          if (response.redirected || type.indexOf("application/json") === -1) { throw new Error("not saved"); }
          return response.json();
        })
        .then(function (data) {
          if (data.saved) {
            versions.value = item.value + ":" + data.version;
            showErrors([]);
            savedText = sent;
            savedStatus = form.dataset.msgSaved + " " + hhmm(data.saved_at);
            say(savedStatus, false);
          } else if (data.gone) {
            // Not this investigator's to revise any more (completed, reassigned): stop, keep the text.
            conflict = "gone";
            say(data.message || form.dataset.msgUnsaved, true);
          } else if (data.stale) {
            setDirty(true);
            conflict = String(data.current_version);
            if (keep) { keep.hidden = false; }
            say(data.message || form.dataset.msgStale, true);
          } else {
            setDirty(true);
            showErrors((data.errors && (data.errors.text || data.errors.__all__)) || []);
            say(form.dataset.msgUnsaved, true);
          }
          document.dispatchEvent(new CustomEvent("htmx:afterRequest"));  // activity: the idle warning waits
        })
        .catch(function () {
          setDirty(true);
          say(form.dataset.msgOffline, true);
        })
        .then(function () {
          inFlight = false;
          if (submitAfter !== undefined) {
            // The button was pressed while this save was on its way: saved, it is done (no second
            // revision of the same text); otherwise the ordinary post shows the page's answer.
            var submitter = submitAfter;
            submitAfter = undefined;
            if (dirty && conflict === null) { form.requestSubmit(submitter); }
            return;
          }
          if (again) { again = false; save(); }
        });
    }

    if (keep) {
      keep.addEventListener("click", function () {
        // Knowingly over the version saved elsewhere: the next save names it.
        if (conflict === null || conflict === "gone") { return; }
        versions.value = item.value + ":" + conflict;
        conflict = null;
        keep.hidden = true;
        setDirty(true);
        save();
      });
    }
    text.addEventListener("input", function () {
      setDirty(true);
      if (timer) { clearTimeout(timer); }
      if (conflict === null) { timer = setTimeout(save, IDLE_MS); }
    });
    text.addEventListener("change", function () {
      if (timer) { clearTimeout(timer); }
      save();
    });
    form.addEventListener("submit", function (event) {
      if (timer) { clearTimeout(timer); timer = null; }
      if (inFlight) {  // the save on its way carries the version this post must name
        event.preventDefault();
        submitAfter = event.submitter || null;
        return;
      }
      if (conflict === null && savedText !== null && text.value === savedText) {
        event.preventDefault();  // saved as it stands: no second revision of the same text
        say(savedStatus, false);
        return;
      }
      setDirty(false);
    });
    form.dataset.autosaveReady = "1";
  });

  window.addEventListener("beforeunload", function (event) {
    if (pending > 0) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
})();
