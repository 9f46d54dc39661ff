// Podium: small progressive enhancements; every rule lives on the server.
(function () {
  "use strict";

  // Loaded in <head> without defer, so narrow screens start with the menu closed rather than flashing open.
  document.documentElement.classList.add("js");

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

  // The menu button of narrow screens opens and closes the navigation's sections.
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest(".menu-toggle") : null;
    if (!button) { return; }
    var nav = button.closest(".site-nav");
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    nav.classList.toggle("menu-open", open);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var button = document.querySelector(".menu-toggle[aria-expanded='true']");
    if (button) {
      button.setAttribute("aria-expanded", "false");
      button.closest(".site-nav").classList.remove("menu-open");
      button.focus();
    }
  });

  // A table wider than its place scrolls inside its own region, which keyboard users can reach and
  // screen readers can name: tabindex, role and a label from the table's caption or its section's heading.
  var SCROLLERS = ".table-scroll, .coverage-matrix, .review-matrix-wrap";

  function labelFor(region) {
    var table = region.querySelector("table");
    var caption = table && table.querySelector("caption");
    if (caption && caption.textContent.trim()) { return caption.textContent.trim(); }
    if (table && table.getAttribute("aria-label")) { return table.getAttribute("aria-label"); }
    var node = region;
    while (node && node !== document.body) {
      var sibling = node.previousElementSibling;
      while (sibling) {
        if (/^H[1-6]$/.test(sibling.tagName)) { return sibling.textContent.trim(); }
        var inner = sibling.querySelector && sibling.querySelector("h1, h2, h3, h4, h5, h6");
        if (/^(HGROUP|HEADER)$/.test(sibling.tagName) && inner) { return inner.textContent.trim(); }
        sibling = sibling.previousElementSibling;
      }
      node = node.parentElement;
    }
    return document.body.dataset.tableLabel || "Table";
  }

  function markScrollers(root) {
    var scope = root && root.querySelectorAll ? root : document;
    scope.querySelectorAll("main table").forEach(function (table) {
      if (!table.closest(SCROLLERS) && table.parentElement && table.offsetWidth > table.parentElement.clientWidth + 1) {
        var wrapper = document.createElement("div");
        wrapper.className = "table-scroll";
        table.parentNode.insertBefore(wrapper, table);
        wrapper.appendChild(table);
      }
    });
    document.querySelectorAll(SCROLLERS).forEach(function (region) {
      var scrolls = region.scrollWidth > region.clientWidth + 1;
      if (scrolls && !region.hasAttribute("tabindex")) {
        region.setAttribute("tabindex", "0");
        region.setAttribute("role", "region");
        if (!region.hasAttribute("aria-label") && !region.hasAttribute("aria-labelledby")) {
          region.setAttribute("aria-label", labelFor(region));
        }
        region.dataset.scrollRegion = "auto";
      } else if (!scrolls && region.dataset.scrollRegion === "auto") {
        region.removeAttribute("tabindex");
        region.removeAttribute("role");
        region.removeAttribute("aria-label");
        delete region.dataset.scrollRegion;
      }
    });
  }

  var resizeTimer = null;
  document.addEventListener("DOMContentLoaded", function () { markScrollers(document); });
  window.addEventListener("load", function () { markScrollers(document); });
  document.addEventListener("htmx:afterSettle", function (event) { markScrollers(event.target); });
  window.addEventListener("resize", function () {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(function () { markScrollers(document); }, 150);
  });

  // What htmx swaps in is announced politely through one live region that stays on the page (a region
  // replaced by the swap would not be announced): elements with data-announce-key are compared with their
  // previous text; a changed or new one says its data-announce text (else its own text). Three at most.
  var lastSeen = new Map();

  function announce(messages) {
    var region = document.getElementById("live-announcer");
    if (!region || !messages.length) { return; }
    region.textContent = "";
    window.setTimeout(function () { region.textContent = messages.slice(0, 3).join(". "); }, 100);
  }
  window.podiumAnnounce = function (text) { announce([text]); };

  function remember(root, speak) {
    var messages = [];
    var scope = root && root.querySelectorAll ? root : document;
    scope.querySelectorAll("[data-announce-key]").forEach(function (el) {
      var key = el.dataset.announceKey;
      var text = el.textContent.trim();
      if (speak && lastSeen.get(key) !== text && text) {
        messages.push(el.dataset.announce || text);
      }
      lastSeen.set(key, text);
    });
    if (speak) { announce(messages); }
  }


  // Keep the keyboard's place when htmx swaps the part of the page that has the focus (a button of the
  // board that was just pressed is replaced by its fresh copy): htmx itself only restores elements with an
  // id, so the same control (same tag, name, text and form) is looked for inside the nearest surviving
  // element with an id, else that element's first control, so Tab goes on from where the person was.
  var FOCUSABLE = "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex='-1'])";
  var keptFocus = null;

  function controlKey(el) {
    var form = el.form || el.closest("form");
    return [el.tagName, el.getAttribute("name") || "", el.getAttribute("value") || "", (el.textContent || "").trim(),
      el.getAttribute("aria-label") || "", form ? form.getAttribute("action") || "" : "", el.getAttribute("href") || ""].join("|");
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var active = document.activeElement;
    var target = event.detail.target;
    keptFocus = null;
    if (!active || active === document.body || !target || !target.contains(active)) { return; }
    var scopes = [];
    for (var node = active.parentElement; node; node = node.parentElement) {
      if (node.id) { scopes.push(node.id); }
      if (node === target) { break; }
    }
    keptFocus = {key: controlKey(active), scopes: scopes};
  });

  document.addEventListener("htmx:afterSettle", function () {
    var wanted = keptFocus;
    keptFocus = null;
    var active = document.activeElement;
    if (!wanted || (active && active !== document.body && document.contains(active))) { return; }
    for (var i = 0; i < wanted.scopes.length; i++) {
      var scope = document.getElementById(wanted.scopes[i]);
      if (!scope) { continue; }
      var controls = Array.prototype.filter.call(scope.querySelectorAll(FOCUSABLE), function (el) {
        return el.getClientRects().length > 0;
      });
      var same = controls.filter(function (el) { return controlKey(el) === wanted.key; })[0];
      var next = same || controls[0];
      if (next) { next.focus(); return; }
    }
  });

  document.addEventListener("DOMContentLoaded", function () { remember(document, false); });
  document.addEventListener("htmx:afterSettle", function (event) { remember(event.target, true); });
})();
