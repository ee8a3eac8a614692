// The API playground (GET /docs): Swagger UI driving this API's own OpenAPI document.
// A file rather than an inline script, so that the page's Content-Security-Policy can
// refuse every inline script. web/build.py copies it into functions/playground/static/.
(function () {
  "use strict";

  // The page is `<base>/docs` (`<base>` carries API Gateway's stage, e.g. `/prod`), so the
  // document `<base>/openapi.json` is `openapi.json` relative to it.
  var spec = new URL("openapi.json", document.baseURI).href;

  window.ui = SwaggerUIBundle({
    url: spec,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "BaseLayout",
    // Paste a token in Authorize once: it is kept (in this browser's localStorage) across
    // reloads, and every operation is ready to send.
    persistAuthorization: true,
    tryItOutEnabled: true,
    // `#/<tag>/<operationId>` links open one operation.
    deepLinking: true,
    displayRequestDuration: true,
    // Never load a document named in the page's query string, and never send the document
    // to validator.swagger.io for the badge: the page talks to this API only.
    queryConfigEnabled: false,
    validatorUrl: null,
  });
})();
