"""What a plugin sees of the running service: a read-only view, handed to the hooks that run
with the service (``register_routes``, ``startup``, ``shutdown``)."""

from __future__ import annotations

from typing import Any, Protocol

from rockets.core.registry import Registry
from rockets.state import RocketState
from rockets.wire import EventView, Health, RocketQuery

__all__ = ["RocketsView"]


class RocketsView(Protocol):
    """The registry and the read methods of one running service.

    It answers what ``GET /rockets``, ``GET /rockets/{channel}``, ``/events`` and ``/health``
    answer, from the same store, so that a plugin's route reads exactly what the API serves.
    """

    @property
    def registry(self) -> Registry:
        """The message types and the state type of this app (read-only)."""
        ...

    async def rocket(self, channel: str) -> RocketState:
        """The current state of ``channel``.

        Raises:
            rockets.UnknownChannelError: the channel has received no message (a
                :class:`rockets.NotFoundError`: raised from a route, it is answered 404).
        """
        ...

    async def rockets(self, query: RocketQuery) -> tuple[int, list[RocketState]]:
        """How many rockets match ``query``'s filters, and the page it asks for."""
        ...

    async def events(self, channel: str, start: int, limit: int) -> tuple[int, list[EventView]]:
        """Up to ``limit`` applied events of ``channel`` from number ``start`` on, and how many
        events the channel has in all.

        Raises:
            rockets.UnknownChannelError: the channel has received no message (answered 404).
        """
        ...

    async def health(self) -> Health:
        """Whether the store is reachable, and a few vital figures."""
        ...

    def projection(self, name: str) -> Any:
        """A projection's value as the API serves it (``GET /projections/{name}``).

        Raises:
            rockets.UnknownProjectionError: no projection has that name (answered 404).
            rockets.PluginError: the projection's ``serve`` failed: it is stopped (answered 500).
            TimeoutError: the projection's code was busy past the wait a read allows (answered
                503 with ``Retry-After``).
        """
        ...
