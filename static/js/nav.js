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
