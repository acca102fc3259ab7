/*
 * booking – progressive enhancement only. Every page works without this file:
 * forms POST normally, calendar navigation is plain links, the language switch is a form.
 * Add small, self-contained enhancements here (loaded with `defer`),
 * and never make a page depend on them.
 */

(function () {
  "use strict";
  var wide = window.matchMedia && window.matchMedia("(min-width: 64em)").matches;
  if (!wide) return;
  // The calendar: without a chosen view the server sends the agenda (a phone's view); a wide
  // screen shows the month grid instead. Only when nobody asked for a view.
  var agenda = document.querySelector("[data-wide-href]");
  if (agenda && !new URLSearchParams(window.location.search).has("view")) {
    window.location.replace(agenda.getAttribute("data-wide-href"));
    return;
  }
  // Filters folded away for phones stand open where there is room.
  document.querySelectorAll("details[data-open-wide]").forEach(function (details) { details.open = true; });
})();

(function () {
  "use strict";
  // Copy buttons (calendar addresses): hidden without JavaScript, where the read-only field
  // can be selected and copied by hand.
  document.querySelectorAll("[data-copy-from]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy-from"));
    if (!field || !navigator.clipboard) return;
    button.hidden = false;
    var status = document.querySelector(".app-copy-status");
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        if (status) status.textContent = button.getAttribute("data-copied-text");
      }, function () {
        field.select();
      });
    });
  });
  document.querySelectorAll("input.app-feed-url").forEach(function (field) {
    field.addEventListener("focus", function () { field.select(); });
  });
})();
