// Intake: similar initiatives appear while the PM types the title and summary.
// About 400 ms after the last keystroke the page asks the server (GET, read-only) for the
// matches and puts the HTML fragment it answers into the #live-matches region, which is
// aria-live="polite" so a screen reader announces it without moving focus. The check when
// the form is submitted stays the guarantee; without JavaScript the page works as before.
(function () {
  "use strict";

  var DELAY_MS = 400;
  var region = document.getElementById("live-matches");
  var title = document.getElementById("id_title");
  var summary = document.getElementById("id_summary");
  if (!region || !title || !window.fetch || !window.URLSearchParams) {
    return;
  }

  var timer = null;
  var lastAsked = null;
  var controller = null;

  function ask() {
    var params = new URLSearchParams({
      title: title.value,
      summary: summary ? summary.value : "",
    });
    var query = params.toString();
    if (query === lastAsked) {
      return;
    }
    lastAsked = query;
    if (controller && window.AbortController) {
      controller.abort();
    }
    controller = window.AbortController ? new AbortController() : null;
    fetch(region.dataset.url + "?" + query, {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
      signal: controller ? controller.signal : undefined,
    })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html !== null && query === lastAsked) {
          region.innerHTML = html.trim();
        }
      })
      .catch(function () {
        // An aborted or failed request leaves the region as it was; submit still checks.
      });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, DELAY_MS);
  }

  title.addEventListener("input", later);
  if (summary) {
    summary.addEventListener("input", later);
  }
})();
