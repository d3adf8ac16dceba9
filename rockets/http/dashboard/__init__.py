"""The dashboard: static files shipped in the package, served at ``/``. No build step."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from litestar import Response
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from rockets.http.answers import NO_SUCH_FILE

__all__ = ["CSP", "STATIC", "dashboard_handlers"]

STATIC = Path(__file__).parent / "static"

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""The page loads nothing but its own files and talks only to its own server."""

# Litestar adds "; charset=utf-8" to a text/* media type.
_ASSETS = {
    "style.css": "text/css",
    "app.js": "text/javascript",
    "api.js": "text/javascript",
    "detail.js": "text/javascript",
    "fleet.js": "text/javascript",
    "icons.js": "text/javascript",
    "table.js": "text/javascript",
    "text.js": "text/javascript",
    "view.js": "text/javascript",
}
"""The files the page loads (its style sheet, and ``app.js`` with the modules it imports), by
name: the only ones served under ``/dashboard/``."""


def dashboard_handlers() -> dict[str, Callable[..., Awaitable[Response[bytes]]]]:
    """The handlers of ``GET /`` (the page) and ``GET /dashboard/{name}`` (its scripts and style
    sheet), by path, for the routes to declare."""
    page = (STATIC / "index.html").read_bytes()
    # Read once, by name: a request names a file of this table, never a path on the disk (a
    # NUL or a ".." in the name is then just a name that is not here).
    assets = {name: (STATIC / name).read_bytes() for name in _ASSETS}

    async def dashboard() -> Response[bytes]:
        return Response(
            page,
            media_type="text/html",
            headers={
                "content-security-policy": CSP,
                "x-frame-options": "DENY",
                "referrer-policy": "no-referrer",
                "cache-control": "no-cache",
            },
        )

    async def asset(name: FromPath[str]) -> Response[bytes]:
        content = assets.get(name)
        if content is None:
            raise NotFoundException(NO_SUCH_FILE.detail)
        return Response(content, media_type=_ASSETS[name], headers={"cache-control": "no-cache"})

    return {"/": dashboard, "/dashboard/{name:str}": asset}
