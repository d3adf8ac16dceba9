"""The HTTP series of the routes Litestar answers: a middleware that counts every request of a
route in :class:`rockets.runtime.metrics.Metrics`, by method, path template and status, with how
long it took and how many are being answered. ``POST /messages``, answered in front of
Litestar, feeds the same series from its front door (:mod:`rockets.http.ingress`)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from rockets.http.edge import Message, Receive, Scope, Send
from rockets.runtime.metrics import Metrics

__all__ = ["UNANSWERED", "http_series"]

App = Callable[[Scope, Receive, Send], Awaitable[None]]

UNANSWERED = 500
"""The status a request is counted with when no answer was begun: what the server answers
(or would have) when the app fails."""


def http_series(metrics: Metrics) -> Callable[[App], App]:
    """A Litestar middleware (a factory of the ASGI app around each route) that feeds
    ``metrics``' HTTP series. It runs after routing, so the route's path template is known
    (``/rockets/{channel}``, not each channel's path: one series per route)."""

    def around(app: App) -> App:
        async def measured(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            series = metrics.route(scope["method"], scope["path_template"])
            status = UNANSWERED

            async def sending(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            series.in_progress += 1
            started = time.perf_counter()
            try:
                await app(scope, receive, sending)
            finally:
                series.in_progress -= 1
                series.answered(status, time.perf_counter() - started)

        return measured

    return around
