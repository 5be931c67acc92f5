// The home page's school search: filters the list of schools by name or code as one types, in the
// browser (the site is static; nothing is sent anywhere). Without JavaScript the full list shows.
(function () {
  "use strict";
  var form = document.getElementById("school-filter-form");
  if (!form) return;
  var input = document.getElementById("school-filter"), count = document.getElementById("school-filter-count");
  var items = Array.prototype.slice.call(document.querySelectorAll("ul.schools li"));
  var groups = Array.prototype.slice.call(document.querySelectorAll("section.group"));
  form.hidden = false;
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  input.addEventListener("input", function () {
    var q = input.value.replace(/[\s\u3000]/g, "").toLowerCase();
    var shown = 0;
    items.forEach(function (li) {
      var match = !q || li.textContent.replace(/[\s\u3000]/g, "").toLowerCase().indexOf(q) >= 0;
      li.hidden = !match;
      if (match) shown++;
    });
    groups.forEach(function (g) { g.hidden = !g.querySelector("li:not([hidden])"); });
    count.textContent = q ? "找到 " + shown + " 所學校" : "";
  });
})();
