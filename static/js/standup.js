// Stand-up board: meeting and speaker timers from the server's clock, form reset after a blocker is raised,
// and a reload when the board closes so the page shows it frozen.
(function () {
  "use strict";

  var offset = 0; // server time minus this browser's time, in ms
  var overSaid = {}; // speaker start times whose "time is up" was announced

  function syncClock() {
    var live = document.getElementById("board-live");
    if (!live) { return; }
    var serverNow = Date.parse(live.getAttribute("data-server-now"));
    if (!isNaN(serverNow)) { offset = serverNow - Date.now(); }
  }

  function format(seconds) {
    var negative = seconds < 0;
    seconds = Math.abs(Math.floor(seconds));
    var text = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
    return negative ? "−" + text : text;
  }

  function tick() {
    var now = Date.now() + offset;
    document.querySelectorAll(".timer[data-since]").forEach(function (el) {
      var since = Date.parse(el.getAttribute("data-since"));
      if (isNaN(since)) { return; }
      var elapsed = (now - since) / 1000;
      var box = el.getAttribute("data-timebox");
      if (box) {
        var left = parseInt(box, 10) - elapsed;
        el.textContent = format(left);
        if (left < 0 && el.dataset.over && window.podiumAnnounce && !overSaid[el.getAttribute("data-since")]) {
          overSaid[el.getAttribute("data-since")] = true; // once per speaker, not after every poll
          window.podiumAnnounce(el.dataset.over);
        }
        el.classList.toggle("over", left < 0);
      } else {
        el.textContent = format(elapsed);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    syncClock();
    tick();
    window.setInterval(tick, 1000);
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var live = document.getElementById("board-live");
    if (!live) { return; }
    syncClock();
    tick();
    var page = document.getElementById("standup-page");
    if (page && live.getAttribute("data-status") === "closed" && page.getAttribute("data-status") !== "closed") {
      window.location.reload();
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.hasAttribute && form.hasAttribute("data-reset-on-success") && event.detail.successful) {
      form.reset();
    }
  });
})();
