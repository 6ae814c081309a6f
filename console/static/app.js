// meterbridge console: a little behaviour on top of pages that work without it. Served as a
// file (no inline scripts), so the Content-Security-Policy allows scripts from this origin only.
(function () {
  "use strict";

  // htmx requests carry the session's anti-forgery token, like the forms' hidden field.
  document.addEventListener("htmx:configRequest", function (e) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { e.detail.headers["X-CSRF-Token"] = meta.content; }
  });

  // An htmx request that fails shows the server's message instead of failing silently.
  document.addEventListener("htmx:responseError", function (e) {
    var target = e.detail.target;
    if (target && e.detail.xhr && e.detail.xhr.responseText) {
      target.innerHTML = "";
      var p = document.createElement("p");
      p.className = "field-error";
      p.setAttribute("role", "alert");
      var doc = new DOMParser().parseFromString(e.detail.xhr.responseText, "text/html");
      var msg = doc.querySelector(".field-error, main .card p");
      p.textContent = msg ? msg.textContent : "The server could not answer; try again.";
      target.appendChild(p);
    }
  });

  function init(root) {
    // "Select all" check boxes tick every row box of their table.
    root.querySelectorAll("input[data-select-all]").forEach(function (all) {
      all.addEventListener("change", function () {
        var table = all.closest("table");
        table.querySelectorAll('input[type=checkbox][name="' + all.dataset.selectAll + '"]').forEach(function (box) {
          box.checked = all.checked;
        });
        updateCount(table.closest("form"));
      });
    });
    root.querySelectorAll("form[data-count-selected]").forEach(function (form) {
      form.addEventListener("change", function () { updateCount(form); });
      updateCount(form);
    });
    // Buttons that need a selection stay disabled until there is one.
    function updateCount(form) {
      if (!form || !form.dataset.countSelected) { return; }
      var n = form.querySelectorAll('input[type=checkbox][name="' + form.dataset.countSelected + '"]:checked').length;
      form.querySelectorAll("[data-needs-selection]").forEach(function (b) { b.disabled = n === 0; });
      var out = form.querySelector("[data-selected-count]");
      if (out) { out.textContent = n === 1 ? "1 row selected" : n + " rows selected"; }
    }
    // Picking a company suggestion fills the search box with its name.
    root.querySelectorAll("input[data-company-name]").forEach(function (radio) {
      radio.addEventListener("change", function () {
        var box = document.getElementById("f-q");
        if (box && radio.checked) { box.value = radio.dataset.companyName; }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function (e) { init(e.detail.elt); });
})();
