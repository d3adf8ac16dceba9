"""The dashboard: static files shipped in the package, served at ``/``. No build step."""

from __future__ import annotations

from pathlib import Path

from litestar import Response, get
from litestar.handlers import BaseRouteHandler
from litestar.static_files import create_static_files_router

__all__ = ["CSP", "STATIC", "dashboard_routes"]

STATIC = Path(__file__).parent / "static"

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""The page loads nothing but its own files and talks only to its own server."""


def dashboard_routes() -> list[BaseRouteHandler]:
    """``GET /`` (the page) and ``/dashboard/*`` (its script and style sheet)."""
    page = (STATIC / "index.html").read_bytes()

    @get("/", include_in_schema=False)
    async def dashboard() -> Response[bytes]:
        return Response(
            page,
            media_type="text/html; charset=utf-8",
            headers={
                "content-security-policy": CSP,
                "x-frame-options": "DENY",
                "referrer-policy": "no-referrer",
                "cache-control": "no-cache",
            },
        )

    assets = create_static_files_router(
        path="/dashboard", directories=[STATIC], name="dashboard", include_in_schema=False
    )
    return [dashboard, assets]  # type: ignore[list-item]
