// Search by national ID across a school's rosters. The index ships with the school's own pages
// (search-index.js) and never leaves the browser; the ID is never put into a URL.
(function () {
  "use strict";
  var form = document.getElementById("id-search");
  if (!form) return;
  var input = document.getElementById("id-input");
  var out = document.getElementById("search-results");
  function show(matches, id) {
    out.textContent = "";
    if (!id) return;
    if (!matches.length) {
      out.textContent = "查無身分證字號 " + id + " 的名冊資料。";
      return;
    }
    var p = document.createElement("p");
    p.textContent = "身分證字號 " + id + " 共 " + matches.length + " 筆：";
    out.appendChild(p);
    var ul = document.createElement("ul");
    matches.forEach(function (m) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = m.href;
      a.textContent = m.date + " " + m.kind + "：" + m.state + (m.county ? "（" + m.county + "）" : "");
      li.appendChild(a);
      ul.appendChild(li);
    });
    out.appendChild(ul);
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var id = (input.value || "").trim().toUpperCase();
    var index = window.DEFERMENT_SEARCH_INDEX || [];
    show(index.filter(function (m) { return m.id === id; }), id);
  });
})();
