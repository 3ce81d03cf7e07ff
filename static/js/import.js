// CSV import: upload with a progress bar, then wait while the server validates and imports.
// Without JavaScript (or without XMLHttpRequest/FormData) the form posts as a normal page.
// The server answers this script with JSON {"redirect": url} on success, or with the
// import page itself (listing the problems, or the possible duplicates to decide on) when
// nothing was imported. The duplicate review posts the same file again with the choices:
// the script remembers the file chosen first, so the importer need not choose it twice.
(function () {
  "use strict";

  var remembered = null; // the file of the last upload, for the review's second post

  function bind() {
    if (!window.FormData || !window.XMLHttpRequest || !window.DOMParser) {
      return;
    }
    var forms = document.querySelectorAll("form[data-import]");
    for (var i = 0; i < forms.length; i++) {
      bindForm(forms[i]);
    }
  }

  function bindForm(form) {
    var input = form.querySelector("input[type=file]");
    var buttons = form.querySelectorAll("button[type=submit]");
    var progress = form.querySelector("progress");
    var status = form.querySelector("[role=status]");
    var limit = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;
    var refile = form.querySelector("[data-refile]");
    if (refile && remembered && input) {
      refile.hidden = true; // the review sends the remembered file again
      input.required = false;
    }

    function busy(flag) {
      for (var b = 0; b < buttons.length; b++) {
        buttons[b].disabled = flag;
      }
    }

    function say(text) {
      status.textContent = text;
    }

    function fail(text) {
      progress.hidden = true;
      busy(false);
      say(text);
    }

    form.addEventListener("submit", function (event) {
      var chosen = input && input.files && input.files[0];
      var file = chosen || (refile && remembered);
      if (!file) {
        return; // the server names the missing file
      }
      event.preventDefault();
      if (limit && file.size > limit) {
        fail("This file is larger than " + Math.floor(limit / 1048576) +
             " MB; split it into smaller files.");
        return;
      }
      var data = new FormData(form);
      if (!chosen) {
        data.set("file", file, file.name);
      }
      var submitter = event.submitter;
      if (submitter && submitter.name) {
        data.append(submitter.name, submitter.value); // which button: FormData leaves it out
      }
      remembered = file;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      busy(true);
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
            if (page.title) {
              document.title = page.title;
            }
            bind(); // the new form is a new element; scripts in parsed HTML do not run
            var heading = document.getElementById("import-errors-title") ||
                          document.getElementById("import-review-title");
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
      xhr.send(data);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", bind);
  } else {
    bind();
  }
})();
