"""Who may do what, and the headers every answer carries."""

from __future__ import annotations

import hmac
from typing import Any

from litestar.config.cors import CORSConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.types import Guard, Message, Scope

from rockets.settings import Settings

__all__ = ["OPEN_PATHS", "auth_guard", "cors_config", "security_headers"]

OPEN_PATHS = frozenset({"/health", "/"})
"""Paths that never need a token: the health check, for load balancers, and the dashboard's page
(it holds no data; the data it reads needs a token as any read does)."""
OPEN_PREFIXES = ("/dashboard/",)
_READING = frozenset({"GET", "HEAD", "OPTIONS"})


def _token(connection: ASGIConnection[Any, Any, Any, Any]) -> bytes:
    scheme, _, credentials = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip().encode()
    # A browser's EventSource cannot set headers: reads may carry the token in the query.
    if connection.scope.get("method") in _READING:
        return connection.query_params.get("access_token", "").encode()
    return b""


def auth_guard(settings: Settings) -> Guard | None:
    """The guard for ``ROCKETS_INGEST_TOKEN`` and ``ROCKETS_READ_TOKEN``, or None if neither
    is set.

    A request that writes (any method but GET, HEAD, OPTIONS) needs the ingest token when one is
    set; a request that reads needs the read token or the ingest token when a read token is set.
    Tokens are compared in constant time; a missing or wrong one is a 401.
    """
    ingest = settings.ingest_token.encode() if settings.ingest_token else None
    read = settings.read_token.encode() if settings.read_token else None
    if ingest is None and read is None:
        return None

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        path = connection.scope["path"]
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return
        if connection.scope.get("method", "GET") not in _READING:
            wanted = [ingest] if ingest is not None else []
        else:
            wanted = [t for t in (read, ingest) if t is not None] if read is not None else []
        if not wanted:
            return
        given = _token(connection)
        # Every candidate is compared, so the time taken says nothing about which was close.
        matches = [hmac.compare_digest(given, token) for token in wanted]
        if not any(matches):
            raise NotAuthorizedException(
                detail="this request needs 'Authorization: Bearer <token>' with a valid token",
                headers={"WWW-Authenticate": 'Bearer realm="rockets"'},
            )

    return guard


def cors_config(settings: Settings) -> CORSConfig | None:
    """CORS for dashboards served from other origins (``ROCKETS_CORS_ORIGINS``)."""
    if not settings.cors_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
        expose_headers=["X-Total-Count", "Retry-After"],
        max_age=600,
    )


_HEADERS = {"x-content-type-options": "nosniff"}
"""Every answer's; the HTML page adds its own (frames, referrer, CSP: see rockets.dashboard)."""


async def security_headers(message: Message, scope: Scope) -> None:
    """Add the headers every answer carries (``before_send`` hook of the app)."""
    if message["type"] == "http.response.start":
        headers = MutableScopeHeaders.from_message(message)
        for name, value in _HEADERS.items():
            if name not in headers:
                headers[name] = value
