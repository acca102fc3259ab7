"""The interactive API documentation at /schema (and /schema/swagger): Swagger UI.

Litestar's own pages put the whole schema and the start-up code into inline scripts (and
Redoc pulls fonts from Google); this page has no inline script or style, so it works under
the strict Content-Security-Policy (``booking.web.security_headers``): the Swagger UI bundle
is vendored from the npm package swagger-ui-dist (booking/static/swagger-ui/, with its
licence; no CDN at run time), the start-up code comes from /static/api-docs.js, the schema
from /schema/openapi.json.
"""

from __future__ import annotations

from html import escape
from typing import Any

from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin

# swagger-ui-dist 5.18.2 from the npm registry (see its package.json, LICENSE and NOTICE there).
SWAGGER_UI_BASE = "/static/swagger-ui"


class SwaggerPage(OpenAPIRenderPlugin):
    def __init__(self) -> None:
        super().__init__(path=["/", "/swagger"], favicon="", style="")

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        title = escape(str(openapi_schema.get("info", {}).get("title", "API")))
        schema_url = escape(self.get_openapi_json_route(request))
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} – API</title>
  <link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="{SWAGGER_UI_BASE}/swagger-ui.css">
  <script src="{SWAGGER_UI_BASE}/swagger-ui-bundle.js" defer></script>
  <script src="/static/api-docs.js" defer></script>
</head>
<body>
  <div id="swagger-container" data-openapi-url="{schema_url}"></div>
</body>
</html>
""".encode()
