// Progressive enhancement only: every link and form works without this file.
// Links and forms marked data-loading="message" lead to a page that computes
// recommendations first; while it loads, the #loading status says so.
(function () {
  "use strict";
  var status = document.getElementById("loading");
  if (!status) {
    return;
  }
  var text = status.querySelector(".loading-text");

  function show(message) {
    status.hidden = false;
    // Set after unhiding, so that screen readers announce the live region.
    text.textContent = message || "Loading…";
    document.documentElement.classList.add("is-loading");
  }

  function hide() {
    status.hidden = true;
    text.textContent = "";
    document.documentElement.classList.remove("is-loading");
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-loading]");
    if (!link || event.defaultPrevented || event.button !== 0) {
      return;
    }
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return; // a new tab or window: this page stays as it is
    }
    if (link.target && link.target !== "_self") {
      return;
    }
    show(link.getAttribute("data-loading"));
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!event.defaultPrevented && form.hasAttribute("data-loading")) {
      show(form.getAttribute("data-loading"));
    }
  });

  // Coming back through the back/forward cache shows the old page as it was left.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      hide();
    }
  });
})();
