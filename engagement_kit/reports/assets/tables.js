// Sortable, searchable long tables in a report, offline. Shipped with engagement-kit and
// inlined by engagement_kit/reports/render.py: the only script of a report (scripts in
// notebook outputs are removed by the sanitiser). It reads text and data-sort values only,
// and writes only text and attributes: never HTML, never code.
(function () {
  "use strict";
  function key(cell) {
    var raw = cell.getAttribute("data-sort");
    if (raw !== null && raw !== "" && !isNaN(Number(raw))) { return { n: Number(raw) }; }
    return { s: (cell.textContent || "").trim().toLowerCase() };
  }
  function compare(a, b) {
    if ("n" in a && "n" in b) { return a.n - b.n; }
    if ("n" in a) { return -1; }
    if ("n" in b) { return 1; }
    return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
  }
  function sortable(table) {
    var body = table.tBodies[0];
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, col) {
      th.setAttribute("role", "button");
      th.setAttribute("tabindex", "0");
      th.title = "sort";
      function go() {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var c = compare(key(r1.cells[col]), key(r2.cells[col]));
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", go);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); } });
    });
  }
  function searchable(table) {
    var box = document.createElement("input");
    box.type = "search";
    box.className = "ek-search";
    box.placeholder = "search";
    box.setAttribute("aria-label", "search this table");
    box.addEventListener("input", function () {
      var q = box.value.trim().toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        r.style.display = !q || (r.textContent || "").toLowerCase().indexOf(q) >= 0 ? "" : "none";
      });
    });
    var wrap = table.parentNode;
    wrap.parentNode.insertBefore(box, wrap);
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table.ek-table"), function (t) {
      sortable(t);
      if (t.classList.contains("ek-long")) { searchable(t); }
    });
  });
})();
