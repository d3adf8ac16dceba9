"""``GET /stream`` at the edge: how many streams may be open, in all and per client, and their
end when the server is asked to stop.

A stream holds its connection for as long as the client likes, so streams get a bound of their
own, below the connection cap, so that ingest and reads keep a share of the connections; and a
client (told apart by its address) may hold only a few of them. When the process is asked to
stop, every stream ends: those whose client reads get the end of the stream from the hub; those
stuck writing to a client that does not read are cut after a moment (their connection aborted),
so that a graceful shutdown never waits on them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from rockets.http.answers import TOO_MANY_STREAMS
from rockets.http.edge import Edge, Receive, Scope, Send
from rockets.runtime.stream_hub import StreamHub
from rockets.settings import Settings

__all__ = ["STREAM_PATH", "StreamGate"]

STREAM_PATH = "/stream"
CUT_AFTER_SECONDS = 1.0
"""How long a stream may still take to write its end once the server stops."""


class StreamGate:
    """Admits ``GET /stream`` requests and ends them at shutdown.

    Args:
        settings: ``stream_cap`` and ``max_streams_per_client``.
        edge: the app's edge (answers, request ids, headers).
        hub: the stream hub, closed first at shutdown.
    """

    def __init__(self, settings: Settings, edge: Edge, hub: StreamHub) -> None:
        self.max_streams = settings.stream_cap
        self.max_per_client = settings.max_streams_per_client
        self.edge = edge
        self.hub = hub
        self._clients: dict[str, int] = {}
        self._open: dict[asyncio.Task[Any], Send] = {}
        self._cut: set[asyncio.Task[Any]] = set()
        self._closing = False

    @property
    def open(self) -> int:
        """Streams open now."""
        return len(self._open)

    async def __call__(
        self, app: Callable[..., Awaitable[None]], scope: Scope, receive: Receive, send: Send
    ) -> None:
        client = scope.get("client")
        key = str(client[0]) if client else ""
        if (
            self._closing
            or len(self._open) >= self.max_streams
            or self._clients.get(key, 0) >= self.max_per_client
        ):
            await self.edge.refuse(scope, send, TOO_MANY_STREAMS)
            return
        task = asyncio.current_task()
        assert task is not None
        self._open[task] = send
        self._clients[key] = self._clients.get(key, 0) + 1
        try:
            await self.edge.around(app, scope, receive, send)
        except asyncio.CancelledError:
            if task not in self._cut:
                raise
            # Cut on purpose at shutdown: uvicorn closes the connection.
            task.uncancel()
        finally:
            del self._open[task]
            self._cut.discard(task)
            left = self._clients[key] - 1
            if left:
                self._clients[key] = left
            else:
                del self._clients[key]

    def close(self) -> None:
        """End every stream: the hub ends them, and those that have not ended a moment later
        (stuck writing to a client that does not read) are cut. Takes no new stream."""
        if self._closing:
            return
        self._closing = True
        self.hub.close()
        asyncio.get_running_loop().call_later(CUT_AFTER_SECONDS, self._cut_the_rest)

    def _cut_the_rest(self) -> None:
        for task, send in list(self._open.items()):
            # A stream stuck writing waits for its client to read what the transport holds;
            # closing would wait for that too. uvicorn's send keeps its transport: abort it, and
            # the stream ends as if the client had gone. Another server's stream is cancelled.
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            abort = getattr(transport, "abort", None)
            if callable(abort):
                abort()
            else:
                self._cut.add(task)
                task.cancel()
