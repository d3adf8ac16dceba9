"""The rocket index: every rocket's current state, kept up to date so reads never replay the log."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rockets.core.state_schema import StateSchema
from rockets.state import RocketState
from rockets.wire import RocketQuery

__all__ = ["RocketIndex", "select"]


def _filtered(
    rows: Iterable[RocketState], query: RocketQuery, schema: StateSchema
) -> list[RocketState]:
    for json_name, value in query.filters().items():
        attribute = schema.attribute(json_name) or json_name
        rows = [s for s in rows if getattr(s, attribute, None) == value]
    return rows if isinstance(rows, list) else list(rows)


def _page(rows: list[RocketState], query: RocketQuery) -> tuple[int, list[RocketState]]:
    end = None if query.limit is None else query.offset + query.limit
    return len(rows), rows[query.offset : end]


def select(
    states: Iterable[RocketState], query: RocketQuery, schema: StateSchema
) -> tuple[int, list[RocketState]]:
    """Filter, sort and page ``states`` as ``query`` asks; the number that matched, and the page.

    Rockets with no value for the sort field come last in either order; ties are broken by
    channel, in the same direction.
    """
    rows = _filtered(states, query, schema)
    attribute = schema.attribute(query.sort) or "channel"
    descending = query.order == "desc"
    valued: list[tuple[Any, str, RocketState]] = []
    missing: list[RocketState] = []
    for state in rows:
        value = getattr(state, attribute)
        if value is None:
            missing.append(state)
        else:
            valued.append((value, state.channel, state))
    valued.sort(key=lambda row: (row[0], row[1]), reverse=descending)
    missing.sort(key=lambda s: s.channel, reverse=descending)
    return _page([row[2] for row in valued] + missing, query)


class RocketIndex:
    """Channel → current :class:`RocketState`, for every channel that has received a message."""

    def __init__(self) -> None:
        self._states: dict[str, RocketState] = {}
        # The channels in order, kept between reads: the default listing (by channel) then
        # costs a look-up per rocket instead of a sort. New channels are rarer than updates,
        # so the order is thrown away only when one arrives.
        self._order: list[str] | None = None

    def __len__(self) -> int:
        return len(self._states)

    def get(self, channel: str) -> RocketState | None:
        return self._states.get(channel)

    def put(self, states: Iterable[RocketState]) -> None:
        known = self._states
        for state in states:
            if self._order is not None and state.channel not in known:
                self._order = None
            known[state.channel] = state

    def query(self, query: RocketQuery, schema: StateSchema) -> tuple[int, list[RocketState]]:
        """The number of rockets that match ``query``'s filters, and the requested page."""
        if (schema.attribute(query.sort) or "channel") != "channel":
            return select(self._states.values(), query, schema)
        if self._order is None:
            self._order = sorted(self._states)
        known = self._states
        rows = [known[channel] for channel in self._order]
        if query.order == "desc":
            rows.reverse()
        return _page(_filtered(rows, query, schema), query)
