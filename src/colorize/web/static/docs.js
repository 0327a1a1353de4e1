// Swagger UI, served from the swagger-ui-bundle-v2 package (no CDN). "Try it out" sends the CSRF header the API
// asks for on POST and DELETE, read from this browser's colorize_csrf cookie.
function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)colorize_csrf=([0-9a-f]+)/);
  return match ? match[1] : null;
}

window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  requestInterceptor: (request) => {
    const token = csrfToken();
    if (token) request.headers["X-CSRF-Token"] = token;
    return request;
  },
});
