/* Starts Swagger UI on /schema (booking/api/docs.py): kept out of the page so the
 * Content-Security-Policy needs no 'unsafe-inline'. */
(function () {
  "use strict";
  var container = document.getElementById("swagger-container");
  if (!container || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: container.getAttribute("data-openapi-url"),
    dom_id: "#swagger-container",
    deepLinking: true,
  });
})();
