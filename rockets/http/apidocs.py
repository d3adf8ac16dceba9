"""The API documentation pages under ``/schema``: Swagger UI and RapiDoc, whose files this app
serves itself, so that the pages need no network but the way to this server.

Litestar's render plugins load each UI from a CDN; here they are pointed at
``/schema/assets/{name}``, which serves the files of the ``openapi-ui-bundles`` package (the
UIs' distribution files, byte for byte as their projects publish them) by name, from a fixed
table. Redoc and Stoplight Elements are not offered (docs/api.md says why): their paths are
404s, not blank pages. The OpenAPI document itself (``openapi.json``, ``openapi.yaml``) is
Litestar's, with its descriptions in Markdown: every page that renders it is one of these
plugins, which convert it before rendering (Litestar offers no hook on the document itself).
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from litestar import HttpMethod, MediaType, Request, Response, Router, route
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import (
    JsonRenderPlugin,
    OpenAPIRenderPlugin,
    RapidocRenderPlugin,
    SwaggerRenderPlugin,
    YamlRenderPlugin,
)
from litestar.params import FromPath
from openapi_ui_bundles import rapidoc, swagger_ui

from rockets.http.answers import NO_SUCH_DOCS_FILE
from rockets.http.openapi import in_markdown

__all__ = ["ASSETS", "ASSETS_PREFIX", "CSP", "DOCS_PATH", "docs_router", "render_plugins"]

DOCS_PATH = "/schema"
ASSETS_PREFIX = f"{DOCS_PATH}/assets/"
"""Where the UIs' files are served: files of a public package, which hold no data, so they
need no token (a page opened with ``?access_token=`` loads them without it)."""

# Litestar adds "; charset=utf-8" to a text/* media type.
ASSETS: dict[str, tuple[Path, str]] = {
    "swagger-ui-bundle.js": (swagger_ui.static_path / "swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui-standalone-preset.js": (
        swagger_ui.static_path / "swagger-ui-standalone-preset.js",
        "text/javascript",
    ),
    "swagger-ui.css": (swagger_ui.static_path / "swagger-ui.css", "text/css"),
    "rapidoc-min.js": (rapidoc.static_path / "rapidoc-min.js", "text/javascript"),
}
"""The files the pages load, by name: the only ones served under :data:`ASSETS_PREFIX`, each
with its content type (every answer carries ``nosniff``, under which a browser runs a script
only when it is served as JavaScript)."""

CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
"""The pages load nothing but this server's files and talk only to this server. Inline
script and style stay allowed: Litestar's Swagger UI page starts the UI, with the document
in it, from an inline script, and both UIs set inline styles."""

# As the dashboard's page (rockets.http.dashboard), the other pages a browser renders.
_PAGE_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}

# No favicon to fetch (the browser would ask for /favicon.ico otherwise), as the dashboard.
_NO_FAVICON = "<link rel='icon' href='data:,'>"


def _url(name: str) -> str:
    """Where a page finds the file ``name`` of :data:`ASSETS`: a name not there fails when the
    app is built, not as a blank page."""
    if name not in ASSETS:
        raise KeyError(name)
    return ASSETS_PREFIX + name


class _Swagger(SwaggerRenderPlugin):
    """Swagger UI's page as Litestar writes it, which holds the document: in Markdown."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, in_markdown(openapi_schema))


class _Json(JsonRenderPlugin):
    """``openapi.json``, in Markdown (what RapiDoc's page loads)."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, in_markdown(openapi_schema))


class _Yaml(YamlRenderPlugin):
    """``openapi.yaml``, in Markdown."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, in_markdown(openapi_schema))


class _RapiDoc(RapidocRenderPlugin):
    """RapiDoc's page as Litestar writes it (less its CSRF hook: the app has no CSRF cookie),
    with two attributes more: ``load-fonts='false'``, since RapiDoc otherwise fetches its Open
    Sans fonts from Google, and ``render-style='read'``, every operation on one page, the way
    a reference reads."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema["info"]["title"]))
        document = html.escape(self.get_openapi_json_route(request))
        return (
            "<!DOCTYPE html><html><head>"
            f"<title>{title}</title>{self.favicon}<meta charset='utf-8'/>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<script src='{self.js_url}'></script>{self.style}</head>"
            f"<body><rapi-doc spec-url='{document}' render-style='read' load-fonts='false'>"
            "</rapi-doc></body></html>"
        ).encode()


def render_plugins() -> Sequence[OpenAPIRenderPlugin]:
    """The pages under :data:`DOCS_PATH`: Swagger UI at ``/schema`` and ``/schema/swagger``,
    RapiDoc at ``/schema/rapidoc``, and the document as JSON and YAML."""
    return [
        _Swagger(
            path=["/", "/swagger"],
            js_url=_url("swagger-ui-bundle.js"),
            css_url=_url("swagger-ui.css"),
            standalone_preset_js_url=_url("swagger-ui-standalone-preset.js"),
            favicon=_NO_FAVICON,
        ),
        _RapiDoc(js_url=_url("rapidoc-min.js"), favicon=_NO_FAVICON),
        _Json(),
        _Yaml(),
    ]


def _asset_handler() -> Callable[..., Any]:
    # Read on first use, by name: a request names a file of the table, never a path on the
    # disk (a NUL or a ".." in the name is then just a name that is not there).
    loaded: dict[str, tuple[bytes, str]] = {}

    async def asset(request: Request[Any, Any, Any], name: FromPath[str]) -> Response[bytes]:
        if name not in ASSETS:
            raise NotFoundException(NO_SUCH_DOCS_FILE.detail)
        path, media_type = ASSETS[name]
        if name not in loaded:
            content = path.read_bytes()
            loaded[name] = content, f'"{hashlib.sha256(content).hexdigest()[:32]}"'
        content, etag = loaded[name]
        # Revalidated on every use (the package may be upgraded under the same names); an
        # unchanged file costs a 304, not its megabyte.
        headers = {"etag": etag, "cache-control": "no-cache"}
        given = request.headers.get("if-none-match", "")
        if etag in {tag.strip().removeprefix("W/") for tag in given.split(",")}:
            return Response(b"", status_code=304, headers=headers)
        return Response(content, media_type=media_type, headers=headers)

    return asset


def _lock_down(response: Response[Any]) -> Response[Any]:
    """The headers of a page (the HTML answers); the document and the files are left as
    they are.

    Raises:
        NotFoundException: for Litestar's HTML page of a path under the schema that no page
            has (``/schema/redoc``, say), so that it is the JSON 404 of every other path.
    """
    if response.status_code == 404:
        raise NotFoundException()
    if response.media_type == MediaType.HTML:
        response.headers.update(_PAGE_HEADERS)
    return response


def docs_router() -> Router:
    """The router of :data:`DOCS_PATH`, for ``OpenAPIConfig(openapi_router=...)``: it serves
    the UIs' files, and Litestar adds the pages of :func:`render_plugins` to it, each of which
    gets :data:`CSP`."""
    asset = route("/assets/{name:str}", http_method=[HttpMethod.GET, HttpMethod.HEAD])(
        _asset_handler()
    )
    return Router(
        DOCS_PATH,
        route_handlers=[asset],
        include_in_schema=False,
        # As Litestar's own router of the schema pages.
        dto=None,
        return_dto=None,
        after_request=_lock_down,
    )
