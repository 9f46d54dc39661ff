// Autonomy forms: show the currency only for money actions, and only the scope field the chosen level needs.
(function () {
  "use strict";

  function syncAction() {
    var select = document.getElementById("action_type_id");
    if (!select) { return; }
    var option = select.options[select.selectedIndex];
    var unit = option ? option.getAttribute("data-unit") : "money";
    var currencyLabel = document.getElementById("currency-label");
    var currency = document.getElementById("currency");
    if (currencyLabel && currency) {
      currencyLabel.hidden = unit !== "money";
      currency.disabled = unit !== "money";
      var preset = option ? option.getAttribute("data-currency") : "";
      if (unit === "money" && preset) { currency.value = preset; }
    }
    var hint = document.getElementById("amount-hint");
    if (hint) { hint.textContent = hint.getAttribute("data-" + unit) || ""; }
  }

  function syncScope() {
    var level = document.querySelector("[data-scope-switch]");
    if (!level) { return; }
    document.querySelectorAll("[data-scope]").forEach(function (label) {
      var active = label.getAttribute("data-scope") === level.value;
      label.hidden = !active;
      label.querySelectorAll("select").forEach(function (s) { s.disabled = !active; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var action = document.getElementById("action_type_id");
    if (action) { action.addEventListener("change", syncAction); syncAction(); }
    var level = document.querySelector("[data-scope-switch]");
    if (level) { level.addEventListener("change", syncScope); syncScope(); }
  });
})();
