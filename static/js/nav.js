// Disclosures served open, so that everything works without JavaScript, and folded here on
// narrow screens (app.css hides their toggles on wide ones):
// - the main navigation (details.nav-menu) below 60rem; this file is loaded right after the
//   header, so a phone never sees it unfold;
// - a list page's filters (details.fold-narrow) on phones (their summary says when one is on).
(function () {
  "use strict";
  if (!window.matchMedia) {
    return;
  }
  var wide = window.matchMedia("(min-width: 60rem)");
  var phone = window.matchMedia("(max-width: 47.99rem)");
  var menu = document.querySelector("details.nav-menu");

  function fitMenu() {
    if (menu) {
      menu.open = wide.matches;
    }
  }

  function fitFolds() {
    document.querySelectorAll("details.fold-narrow").forEach(function (fold) {
      fold.open = !phone.matches;
    });
  }

  fitMenu();
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fitFolds);
  } else {
    fitFolds();
  }
  if (wide.addEventListener) {
    wide.addEventListener("change", fitMenu);
    phone.addEventListener("change", fitFolds);
  }
  document.addEventListener("keydown", function (event) {
    if (menu && event.key === "Escape" && menu.open && !wide.matches) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });
})();

// "Waiting on me"'s number in the navigation, asked once the page is there, so that no page
// waits for it (the inbox page fills it itself). Without JavaScript the link has no number.
(function () {
  "use strict";
  var badge = document.querySelector("[data-inbox-count]");
  if (!badge || !badge.hidden || !window.fetch) {
    return;
  }
  fetch(badge.getAttribute("data-inbox-count"), {
    credentials: "same-origin", headers: {"Accept": "application/json"}
  }).then(function (response) {
    return response.ok ? response.json() : null;
  }).then(function (answer) {
    if (!answer || !answer.count) {
      return;
    }
    var hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = answer.count === 1 ? " item" : " items";
    badge.textContent = String(answer.count);
    badge.appendChild(hidden);
    badge.hidden = false;
  }).catch(function () { /* the link works without its number */ });
})();
