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
