// Swagger UI for /api/docs/. A file, not an inline script, so that the page runs under the
// same Content-Security-Policy as the rest of the site. The schema's URL and the CSRF token
// come from data- attributes on #swagger-ui. "Try it out" sends the session cookie; writes
// also send the CSRF token, as the browser's forms do.
(function () {
  "use strict";

  var root = document.getElementById("swagger-ui");
  if (!root || !window.SwaggerUIBundle) {
    return;
  }
  var csrfHeader = root.getAttribute("data-csrf-header");
  var csrfToken = root.getAttribute("data-csrf-token");

  window.SwaggerUIBundle({
    url: root.getAttribute("data-schema-url"),
    domNode: root,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    requestInterceptor: function (request) {
      var method = (request.method || "GET").toUpperCase();
      if (method !== "GET" && method !== "HEAD" && csrfHeader && csrfToken) {
        request.headers[csrfHeader] = csrfToken;
      }
      return request;
    },
  });
})();
