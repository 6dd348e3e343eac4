// Staff workspaces (assessment). No inline scripts anywhere (CSP script-src 'self').
(function () {
  "use strict";
  // Bulk nomination: say that the file is being checked while the upload and the check run.
  var form = document.getElementById("nominate-file-form");
  var progress = document.getElementById("staff-upload-progress");
  if (form && progress) {
    form.addEventListener("submit", function () {
      progress.hidden = false;
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; }
    });
  }
})();
