// People and initiative pickers: search as you type (docs/architecture.md, "People pickers").
// Each <input data-picker="URL"> becomes an ARIA combobox (the WAI-ARIA "list autocomplete"
// pattern): typing asks URL&q=… for suggestions (debounced, the last request wins), the
// arrow keys move through them (aria-activedescendant), Enter or a click picks one, Escape
// closes the list. Picking fills the input with the suggestion's text ("Jane Doe (jdoe)",
// "#42 Title"), which the server resolves on submit exactly as it resolves typed text.
// Without JavaScript the input is a plain text field and the server does the same.
(function () {
  "use strict";

  var DELAY_MS = 250;
  var counter = 0;

  function enhance(input) {
    var base = input.getAttribute("data-picker");
    var id = (input.id || "picker-" + (++counter)) + "-listbox";
    var list = document.createElement("ul");
    var status = document.createElement("p");
    var wrapper = document.createElement("div");
    var timer = null;
    var pending = null;
    var items = [];
    var active = -1;
    var lastQuery = null;

    wrapper.className = "picker";
    input.parentNode.insertBefore(wrapper, input);
    wrapper.appendChild(input);
    list.id = id;
    list.className = "picker-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggestions");
    list.hidden = true;
    wrapper.appendChild(list);
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    wrapper.appendChild(status);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", id);

    function setActive(index) {
      if (active >= 0 && items[active]) {
        items[active].el.setAttribute("aria-selected", "false");
        items[active].el.classList.remove("active");
      }
      active = index;
      if (active >= 0 && items[active]) {
        items[active].el.setAttribute("aria-selected", "true");
        items[active].el.classList.add("active");
        input.setAttribute("aria-activedescendant", items[active].el.id);
        items[active].el.scrollIntoView({block: "nearest"});
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function close() {
      setActive(-1);
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
    }

    function pick(index) {
      var item = items[index];
      if (!item) {
        return;
      }
      input.value = item.value;
      lastQuery = item.value;
      close();
      status.textContent = item.value + " chosen.";
    }

    function show(results) {
      list.textContent = "";
      items = [];
      active = -1;
      results.forEach(function (result, index) {
        var li = document.createElement("li");
        var label = document.createElement("span");
        var detail = document.createElement("span");
        li.id = id + "-" + index;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        label.className = "picker-label";
        label.textContent = result.label;
        detail.className = "picker-detail";
        detail.textContent = result.detail || "";
        li.appendChild(label);
        li.appendChild(detail);
        li.addEventListener("mousedown", function (event) {
          event.preventDefault();  // keep the focus in the input
        });
        li.addEventListener("click", function () {
          pick(index);
        });
        list.appendChild(li);
        items.push({el: li, value: result.value});
      });
      if (items.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        status.textContent = items.length === 1 ? "1 suggestion." :
          items.length + " suggestions. Use the arrow keys to choose.";
      } else {
        close();
        status.textContent = "No suggestions.";
      }
    }

    function search() {
      var query = input.value.trim();
      if (query === lastQuery) {
        return;
      }
      lastQuery = query;
      if (pending) {
        pending.abort();
        pending = null;
      }
      if (!query) {
        close();
        return;
      }
      var controller = window.AbortController ? new AbortController() : null;
      pending = controller;
      var url = base + (base.indexOf("?") >= 0 ? "&" : "?") + "q=" + encodeURIComponent(query);
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"},
                  signal: controller ? controller.signal : undefined})
        .then(function (response) {
          return response.ok ? response.json() : {results: []};
        })
        .then(function (body) {
          if (pending === controller) {
            pending = null;
            if (document.activeElement === input) {
              show(body.results || []);
            }
          }
        })
        .catch(function () {
          // Aborted or offline: the form still resolves what was typed on submit.
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, DELAY_MS);
    });

    input.addEventListener("keydown", function (event) {
      var open = !list.hidden && items.length > 0;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (!open) {
          lastQuery = null;
          search();
          return;
        }
        setActive(active + 1 < items.length ? active + 1 : 0);
      } else if (event.key === "ArrowUp") {
        if (open) {
          event.preventDefault();
          setActive(active > 0 ? active - 1 : items.length - 1);
        }
      } else if (event.key === "Enter") {
        if (open && active >= 0) {
          event.preventDefault();  // pick the suggestion; a second Enter submits
          pick(active);
        }
      } else if (event.key === "Escape") {
        if (open) {
          event.preventDefault();
          close();
        }
      }
    });

    input.addEventListener("blur", function () {
      close();
    });
  }

  function start() {
    if (!window.fetch) {
      return;
    }
    var inputs = document.querySelectorAll("input[data-picker]");
    for (var i = 0; i < inputs.length; i++) {
      if (!inputs[i].disabled) {
        enhance(inputs[i]);
      }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
