// Passkeys (issue 14 §4): add one on the profile, confirm a sign-in with one. No inline scripts
// (CSP script-src 'self'); the forms stay hidden where the browser cannot make or use passkeys.
// The server's answers: {"code", "detail"} on refusal (detail in the person's language), {"redirect"}.
(function () {
  "use strict";
  var supported = !!(window.PublicKeyCredential && window.isSecureContext &&
                     PublicKeyCredential.parseCreationOptionsFromJSON && PublicKeyCredential.parseRequestOptionsFromJSON);

  function withNext(url) {
    var next = new URLSearchParams(window.location.search).get("next");
    return next ? url + "?" + new URLSearchParams({ next: next }).toString() : url;
  }

  function post(form, url, body) {
    var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    return fetch(withNext(url), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new Error(data.detail || form.dataset.failed); }
        return data;
      });
    });
  }

  function say(form, message) {
    var box = form.querySelector(".passkey-status");
    box.textContent = message;
    box.hidden = false;
  }

  function failed(form, error) {
    // The browser's own refusals (cancelled, timed out, no matching passkey) have no server detail.
    var browserSide = error && (error.name === "NotAllowedError" || error.name === "AbortError" ||
                                error.name === "InvalidStateError");
    say(form, browserSide ? form.dataset.cancelled : (error && error.message) || form.dataset.failed);
  }

  function busy(form, on) {
    form.querySelector("button[type=submit]").disabled = on;
    form.setAttribute("aria-busy", on ? "true" : "false");
  }

  var add = document.getElementById("passkey-add");
  if (add) {
    if (supported) {
      add.hidden = false;
      add.addEventListener("submit", function (event) {
        event.preventDefault();
        var name = add.elements.name.value;
        busy(add, true);
        post(add, add.dataset.begin, { name: name }).then(function (options) {
          return navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) });
        }).then(function (credential) {
          return post(add, add.dataset.complete, { name: name, credential: credential.toJSON() });
        }).then(function (done) {
          window.location.assign(done.redirect);
        }).catch(function (error) {
          busy(add, false);
          failed(add, error);
        });
      });
    } else {
      var unsupported = document.querySelector(".passkey-unsupported");
      if (unsupported) { unsupported.hidden = false; }
    }
  }

  var signIn = document.getElementById("passkey-sign-in");
  if (signIn && supported) {
    signIn.hidden = false;
    signIn.addEventListener("submit", function (event) {
      event.preventDefault();
      busy(signIn, true);
      post(signIn, signIn.dataset.begin).then(function (options) {
        if (options.redirect) { return options; }
        return navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) })
          .then(function (credential) { return post(signIn, signIn.dataset.complete, credential.toJSON()); });
      }).then(function (done) {
        window.location.assign(done.redirect);
      }).catch(function (error) {
        busy(signIn, false);
        failed(signIn, error);
      });
    });
  }
  document.documentElement.dataset.passkeysReady = "1";
})();
