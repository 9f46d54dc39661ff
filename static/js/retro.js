// Retro board: countdown, drag-and-drop grouping and a poll that never overwrites what someone is typing.
(function () {
  "use strict";

  var dragging = false;

  function csrfHeaders() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    } catch (error) {
      return {};
    }
  }

  function busy(board) {
    if (dragging || board.querySelector("dialog[open]")) { return true; }
    var active = document.activeElement;
    if (active && board.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) { return true; }
    var fields = board.querySelectorAll("textarea, input[type=text], input:not([type])");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value !== fields[i].defaultValue) { return true; }
    }
    return false;
  }

  // Skip a poll while the person is typing or dragging; the next one catches up. (A poll that finds nothing new
  // is a 204 and changes nothing; one that does swaps only the parts that changed.)
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var live = document.getElementById("retro-live");
    if (elt && elt.id === "retro-poll" && live && busy(live)) {
      event.preventDefault();
    }
  });

  // A new card is appended to its column (the board is not sent again); the form is emptied for the next one,
  // which also lets the live check run again (a filled-in field pauses it).
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (event.detail.successful && form && form.matches && form.matches("form.retro-add-card")) {
      form.reset();
    }
  });

  var overSaid = {};

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function tick() {
    document.querySelectorAll(".retro-timer[data-ends-at]").forEach(function (timer) {
      var left = Math.round((Date.parse(timer.dataset.endsAt) - Date.now()) / 1000);
      if (isNaN(left)) { return; }
      if (left <= 0) {
        if (timer.dataset.over && window.podiumAnnounce && !overSaid[timer.dataset.endsAt] && left > -5) {
          overSaid[timer.dataset.endsAt] = true; // said once when it happens, not on every later poll
          window.podiumAnnounce(timer.dataset.over);
        }
        timer.textContent = timer.dataset.over || "0:00";
        timer.classList.add("retro-timer-over");
        return;
      }
      timer.textContent = Math.floor(left / 60) + ":" + pad(left % 60);
    });
  }
  setInterval(tick, 1000);

  function post(url, target) {
    return window.htmx.ajax("POST", url, {
      target: "#retro-board",
      swap: "outerHTML",
      values: { target: target },
      headers: csrfHeaders()
    });
  }

  function moveCard(zone, cardId, target) {
    post(zone.dataset.moveUrl.replace(/\/0\/move$/, "/" + cardId + "/move"), target);
  }

  // "Move to group" on a card opens the board's one move dialog (the groups are listed there once, not on every
  // card); without a dialog the link leads to the card's move page. After the move, focus goes back to the card.
  var opener = null;

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a.retro-move-open");
    var dialog = document.getElementById("retro-move-dialog");
    if (link && dialog && dialog.showModal && window.htmx) {
      event.preventDefault();
      var card = link.closest(".retro-card");
      var zone = link.closest(".retro-dropzone");
      var select = dialog.querySelector("select[name=target]");
      var text = card && card.querySelector(".retro-card-text");
      opener = link;
      dialog.dataset.url = link.getAttribute("href");
      dialog.dataset.card = card ? card.dataset.cardId : "";
      dialog.querySelector(".retro-move-card").textContent = text ? text.textContent : "";
      select.value = zone ? zone.dataset.target : "none";
      if (!select.value) { select.value = "none"; }
      dialog.showModal();
      select.focus();
    } else if (event.target.closest && event.target.closest("#retro-move-dialog [data-close]")) {
      event.target.closest("dialog").close();
    }
  });

  document.addEventListener("submit", function (event) {
    var dialog = event.target.closest && event.target.closest("#retro-move-dialog");
    if (!dialog || !window.htmx) { return; }
    event.preventDefault();
    var cardId = dialog.dataset.card;
    var target = dialog.querySelector("select[name=target]").value;
    opener = null;
    dialog.close();
    post(dialog.dataset.url, target).then(function () {
      var back = document.querySelector("#retro-card-" + cardId + " a.retro-move-open");
      if (back) { back.focus(); }
    });
  });

  document.addEventListener("close", function (event) {
    if (event.target.id === "retro-move-dialog" && opener && document.contains(opener)) { opener.focus(); }
    opener = null;
  }, true);

  // A loose card's drop zone for another card (the two make a group): made here rather than sent with every card.
  function addMergeZones(root) {
    var dialog = document.getElementById("retro-move-dialog");
    if (!dialog || !root.querySelectorAll) { return; }
    root.querySelectorAll(".retro-column .retro-dropzone > .retro-card").forEach(function (card) {
      if (card.querySelector(".retro-merge")) { return; }
      var zone = document.createElement("ul");
      zone.className = "retro-merge retro-dropzone";
      zone.dataset.target = "card-" + card.dataset.cardId;
      zone.dataset.moveUrl = card.parentNode.dataset.moveUrl;
      zone.setAttribute("aria-label", dialog.dataset.mergeLabel);
      card.insertBefore(zone, card.querySelector(".retro-move-open"));
    });
  }

  function setUpSortable(root) {
    if (!window.Sortable) { return; }
    addMergeZones(root);
    root.querySelectorAll(".retro-dropzone").forEach(function (zone) {
      if (zone.dataset.sortable) { return; }
      zone.dataset.sortable = "1";
      window.Sortable.create(zone, {
        group: "retro-cards",
        draggable: ".retro-card",
        filter: "select, button, input, textarea, details, a",
        preventOnFilter: false,
        sort: !zone.classList.contains("retro-merge"),
        forceFallback: true,
        fallbackOnBody: true,
        animation: 120,
        onStart: function () { dragging = true; },
        onEnd: function () { dragging = false; },
        onAdd: function (event) {
          var cardId = event.item.dataset.cardId;
          if (cardId) { moveCard(zone, cardId, zone.dataset.target); }
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    if (window.htmx) {
      window.htmx.onLoad(function (element) { setUpSortable(element); tick(); });
    }
  });
})();
