// Podium: small progressive enhancements; every rule lives on the server.
(function () {
  "use strict";

  // Ask before destructive actions: <form data-confirm="...">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }, true);

  // Close an open dropdown when clicking elsewhere.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.dropdown[open]").forEach(function (details) {
      if (!details.contains(event.target)) { details.removeAttribute("open"); }
    });
  });

  // Select a read-only value (a new API token) when it gets focus, ready to copy: <input data-select-on-focus>.
  document.addEventListener("focusin", function (event) {
    var target = event.target;
    if (target instanceof HTMLInputElement && target.hasAttribute("data-select-on-focus")) { target.select(); }
  });

  // When htmx gets an error with no fragment to show, say so in the flash area.
  document.addEventListener("htmx:sendError", function () {
    var area = document.getElementById("flash-area");
    if (area) {
      var p = document.createElement("p");
      p.className = "flash flash-error";
      p.setAttribute("role", "alert");
      p.textContent = area.dataset.offlineMessage || "The server could not be reached. Try again.";
      area.replaceChildren(p);
    }
  });
})();
