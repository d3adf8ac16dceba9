"""The projection: every rocket's current state, kept up to date so reads never replay the log."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

import msgspec

from rockets.state import RocketState

__all__ = ["SORT_FIELDS", "Projection", "RocketQuery", "SortField"]

SortField = Literal["channel", "speed", "type", "mission", "status", "launchedAt", "updatedAt"]

SORT_FIELDS: dict[str, Callable[[RocketState], Any]] = {
    "channel": lambda s: s.channel,
    "speed": lambda s: s.speed,
    "type": lambda s: s.type,
    "mission": lambda s: s.mission,
    "status": lambda s: s.status,
    "launchedAt": lambda s: s.launched_at,
    "updatedAt": lambda s: s.updated_at,
}


class RocketQuery(msgspec.Struct, frozen=True, kw_only=True):
    """What ``GET /rockets`` asks for: exact-match filters, then sort, then page.

    Rockets with no value for the sort field come last in either order; ties are broken by
    channel.
    """

    sort: SortField = "channel"
    order: Literal["asc", "desc"] = "asc"
    status: str | None = None
    type: str | None = None
    mission: str | None = None
    limit: int | None = None
    offset: int = 0


class Projection:
    """Channel → current :class:`RocketState`, for every channel that has received a message."""

    def __init__(self) -> None:
        self._states: dict[str, RocketState] = {}

    def __len__(self) -> int:
        return len(self._states)

    def get(self, channel: str) -> RocketState | None:
        return self._states.get(channel)

    def put(self, states: Iterable[RocketState]) -> None:
        for state in states:
            self._states[state.channel] = state

    def query(self, query: RocketQuery) -> tuple[int, list[RocketState]]:
        """The number of rockets that match ``query``'s filters, and the requested page."""
        rows: Iterable[RocketState] = self._states.values()
        if query.status is not None:
            rows = (s for s in rows if s.status == query.status)
        if query.type is not None:
            rows = (s for s in rows if s.type == query.type)
        if query.mission is not None:
            rows = (s for s in rows if s.mission == query.mission)
        key = SORT_FIELDS[query.sort]
        descending = query.order == "desc"
        valued: list[RocketState] = []
        missing: list[RocketState] = []
        for state in rows:
            (missing if key(state) is None else valued).append(state)
        valued.sort(key=lambda s: (key(s), s.channel), reverse=descending)
        missing.sort(key=lambda s: s.channel, reverse=descending)
        ordered = valued + missing
        offset = query.offset
        end = None if query.limit is None else offset + query.limit
        return len(ordered), ordered[offset:end]
