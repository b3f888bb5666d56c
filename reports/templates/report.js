(function () {
  "use strict";
  var bar = document.getElementById("filters");
  if (!bar || !document.querySelectorAll || !Array.prototype.forEach) { return; }
  var slice = function (list) { return Array.prototype.slice.call(list); };
  var boxes = slice(bar.querySelectorAll("input[type=checkbox]"));
  var clause = document.getElementById("filter-clause");
  var text = document.getElementById("filter-text");
  var count = document.getElementById("filter-count");
  var reset = document.getElementById("filter-reset");
  var controls = null;
  var details = null;
  var savedOpen = [];
  var filtering = false;
  var timer = 0;
  function index() {
    if (controls !== null) { return; }
    details = slice(document.querySelectorAll("article.control details"));
    controls = slice(document.querySelectorAll("article.control")).map(function (c) {
      return {
        el: c,
        clause: c.getAttribute("data-clause"),
        groups: slice(c.querySelectorAll(".group")).map(function (g) {
          return {
            el: g,
            rows: slice(g.querySelectorAll("tr.result")).map(function (r) {
              return { el: r, status: r.getAttribute("class").split(" ")[1].slice(3), text: null };
            })
          };
        })
      };
    });
  }
  function show(el, visible) { if (el.hidden === visible) { el.hidden = !visible; } }
  function apply() {
    index();
    var allowed = {};
    var everyStatus = true;
    boxes.forEach(function (b) { allowed[b.value] = b.checked; if (!b.checked) { everyStatus = false; } });
    var needle = text.value.trim().toLowerCase();
    var wanted = clause.value;
    var active = Boolean(needle) || Boolean(wanted) || !everyStatus;
    if (active && !filtering) { savedOpen = details.map(function (d) { return d.open; }); }
    var shown = 0;
    var total = 0;
    controls.forEach(function (c) {
      var clauseOk = !wanted || c.clause === wanted;
      var anyInControl = false;
      c.groups.forEach(function (g) {
        var anyInGroup = false;
        g.rows.forEach(function (r) {
          total += 1;
          var ok = clauseOk && allowed[r.status] !== false;
          if (ok && needle) {
            if (r.text === null) { r.text = r.el.textContent.toLowerCase(); }
            ok = r.text.indexOf(needle) !== -1;
          }
          show(r.el, ok);
          if (ok) { shown += 1; anyInGroup = true; }
        });
        show(g.el, !active || anyInGroup);
        if (active && anyInGroup && g.el.tagName === "DETAILS" && !g.el.open) { g.el.open = true; }
        anyInControl = anyInControl || anyInGroup;
      });
      show(c.el, !active || anyInControl);
    });
    if (!active && filtering) { details.forEach(function (d, i) { d.open = savedOpen[i]; }); }
    filtering = active;
    var template = bar.getAttribute(active ? "data-count" : "data-total");
    count.textContent = template.replace("{shown}", String(shown)).replace("{total}", String(total));
  }
  function clear() {
    boxes.forEach(function (b) { b.checked = true; });
    clause.value = "";
    text.value = "";
    apply();
  }
  function reveal() {
    var id = location.hash ? decodeURIComponent(location.hash.slice(1)) : "";
    var el = id ? document.getElementById(id) : null;
    if (!el) { return; }
    var p;
    for (p = el; p; p = p.parentElement) { if (p.hidden) { clear(); break; } }
    for (p = el; p; p = p.parentElement) { if (p.tagName === "DETAILS") { p.open = true; } }
    el.scrollIntoView();
  }
  boxes.forEach(function (b) { b.addEventListener("change", apply); });
  clause.addEventListener("change", apply);
  text.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(apply, 150); });
  reset.addEventListener("click", clear);
  window.addEventListener("hashchange", reveal);
  var printOpen = [];
  window.addEventListener("beforeprint", function () {
    printOpen = slice(document.querySelectorAll("details")).map(function (d) { var was = d.open; d.open = true; return was; });
  });
  window.addEventListener("afterprint", function () {
    slice(document.querySelectorAll("details")).forEach(function (d, i) { d.open = printOpen[i]; });
  });
  bar.hidden = false;
  if (location.hash) { reveal(); }
}());
