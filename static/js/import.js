// CSV import: upload with a progress bar, then wait while the server validates and imports.
// Without JavaScript (or without XMLHttpRequest/FormData) the form posts as a normal page.
// The server answers this script with JSON {"redirect": url} on success, or with the
// import page itself (listing the problems) when nothing was imported.
(function () {
  "use strict";

  function bind() {
    var form = document.querySelector("form[data-import]");
    if (!form || !window.FormData || !window.XMLHttpRequest || !window.DOMParser) {
      return;
    }
    var input = form.querySelector("input[type=file]");
    var button = form.querySelector("button[type=submit]");
    var progress = document.getElementById("import-progress");
    var status = document.getElementById("import-status");
    var limit = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;

    function say(text) {
      status.textContent = text;
    }

    function fail(text) {
      progress.hidden = true;
      button.disabled = false;
      say(text);
    }

    form.addEventListener("submit", function (event) {
      var file = input && input.files && input.files[0];
      if (!file) {
        return; // the server names the missing file
      }
      event.preventDefault();
      if (limit && file.size > limit) {
        fail("This file is larger than " + Math.floor(limit / 1048576) +
             " MB; split it into smaller files.");
        return;
      }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      button.disabled = true;
      progress.hidden = false;
      progress.max = 100;
      progress.value = 0;
      say("Uploading…");

      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable && e.total > 0) {
          progress.value = Math.round((100 * e.loaded) / e.total);
          say("Uploading… " + progress.value + "%");
        }
      });
      xhr.upload.addEventListener("load", function () {
        progress.removeAttribute("value"); // indeterminate while the server works
        say("Validating and importing…");
      });
      xhr.addEventListener("load", function () {
        var type = xhr.getResponseHeader("Content-Type") || "";
        if (xhr.status === 200 && type.indexOf("application/json") === 0) {
          var answer;
          try {
            answer = JSON.parse(xhr.responseText);
          } catch (err) {
            answer = null;
          }
          if (answer && typeof answer.redirect === "string" && answer.redirect.charAt(0) === "/") {
            say("Imported. Opening the list…");
            window.location.assign(answer.redirect);
            return;
          }
        } else if (xhr.status === 200 && type.indexOf("text/html") === 0) {
          var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
          var fresh = page.querySelector("main");
          var current = document.querySelector("main");
          if (fresh && current) {
            current.replaceWith(fresh);
            bind(); // the new form is a new element; scripts in parsed HTML do not run
            var heading = document.getElementById("import-errors-title");
            if (heading) {
              heading.setAttribute("tabindex", "-1");
              heading.focus();
            }
            return;
          }
        }
        fail("The import did not complete (HTTP " + xhr.status + "). Check the initiative " +
             "list before uploading the file again.");
      });
      xhr.addEventListener("error", function () {
        fail("The connection was interrupted. Check the initiative list before uploading " +
             "the file again.");
      });
      xhr.send(new FormData(form));
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", bind);
  } else {
    bind();
  }
})();
