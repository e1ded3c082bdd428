// Title suggestions while typing in the search box: fills its <datalist> from
// /api/suggest. Progressive enhancement only: without this file the box is a
// plain search form.
(function () {
  "use strict";
  var input = document.querySelector("input[data-suggest-url]");
  var list = input && document.getElementById(input.getAttribute("list"));
  if (!list || !window.fetch) {
    return;
  }
  var url = input.getAttribute("data-suggest-url");
  var timer = null;
  var latest = "";

  function fill(titles) {
    list.replaceChildren.apply(
      list,
      titles.map(function (title) {
        var option = document.createElement("option");
        option.value = title;
        return option;
      })
    );
  }

  function suggest() {
    var query = input.value.trim();
    latest = query;
    if (query.length < 2) {
      fill([]);
      return;
    }
    fetch(url + "?q=" + encodeURIComponent(query), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.ok ? response.json() : { suggestions: [] };
      })
      .then(function (body) {
        if (query === latest) {
          // An answer to an older query never replaces a newer one.
          fill(body.suggestions.map(function (s) { return s.title; }));
          input.setAttribute("data-suggested", query);
        }
      })
      .catch(function () {
        fill([]);
      });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(suggest, 150);
  });
})();
