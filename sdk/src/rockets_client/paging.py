"""Walks through every rocket, or every event of a rocket, page after page, free of I/O: which
page to ask for next, and which of a page's items are new.

A driver asks :meth:`next` for the next page's call, sends it, and gives the answer to
:meth:`take`, which returns the items to yield, until :meth:`next` returns None.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic

from typing_extensions import TypeVar

from rockets_client.core import Call, Calls, Page
from rockets_client.state import RocketState
from rockets_client.wire import EventView

__all__ = ["EventPages", "RocketPages"]

S = TypeVar("S", bound=RocketState, default=RocketState)


def _page_size(size: int) -> int:
    if size < 1:
        raise ValueError(f"page_size must be at least 1, not {size}")
    return size


class RocketPages(Generic[S]):
    """Every rocket of a listing (``GET /rockets``, filtered), each once, by channel, while
    messages arrive.

    A listing by offset moves under the walk: a rocket created before the offset pushes the
    next page's rockets one further, and a rocket that stops matching the filters pulls them
    one back. So the walk sorts by channel, which never changes, yields only channels after the
    last one it yielded, and asks each page from that last one on (one rocket more than the
    page): when the page's first rocket comes after it, rockets were pulled back past the
    offset, and the walk steps back (twice as far each time) until it finds its place again.
    Every rocket that exists when the walk begins and matches the filters throughout is
    yielded exactly once; one created meanwhile may be or not.
    """

    def __init__(
        self,
        calls: Calls[S],
        page_size: int,
        *,
        status: str | None,
        type: str | None,
        mission: str | None,
        where: Mapping[str, Any] | None,
    ) -> None:
        self._calls = calls
        self._size = _page_size(page_size)
        self._filters: dict[str, Any] = {
            "status": status, "type": type, "mission": mission, "where": where,
        }  # fmt: skip
        self._last: str | None = None
        """The channel yielded last."""
        self._offset = 0
        """Where the next page starts: where ``_last`` stands, as far as the walk knows."""
        self._back = self._size
        self._done = False

    def next(self) -> Call[Page[S]] | None:
        """The next page to ask for; None once the walk is over."""
        if self._done:
            return None
        limit = self._size if self._last is None else self._size + 1
        return self._calls.rockets(
            sort="channel", order="asc", limit=limit, offset=self._offset, **self._filters
        )

    def take(self, page: Page[S]) -> list[S]:
        """The rockets of ``page`` (the answer to :meth:`next`'s call) not yielded yet."""
        items, last = page.items, self._last
        if last is not None and self._offset > 0 and (not items or items[0].channel > last):
            # Rockets before the offset stopped matching: the place of the last one yielded is
            # further back.
            self._offset = max(self._offset - self._back, 0)
            self._back *= 2
            return []
        self._back = self._size
        fresh = [state for state in items if last is None or state.channel > last]
        limit = self._size if last is None else self._size + 1
        if len(items) < limit:
            self._done = True
        elif fresh:
            self._last = fresh[-1].channel
            self._offset += len(items) - 1
        else:
            self._offset += len(items) - 1
        return fresh


class EventPages:
    """Every applied event of a channel from number ``start`` on, each once, in order. Events
    are numbered and never change, so each page starts after the last number seen."""

    def __init__(self, calls: Calls[Any], channel: str, start: int, page_size: int) -> None:
        self._calls = calls
        self._channel = channel
        self._start = start
        self._size = _page_size(page_size)
        self._done = False

    def next(self) -> Call[Page[EventView]] | None:
        """The next page to ask for; None once the walk is over."""
        if self._done:
            return None
        return self._calls.events(self._channel, self._start, self._size)

    def take(self, page: Page[EventView]) -> list[EventView]:
        """The events of ``page`` (the answer to :meth:`next`'s call)."""
        if len(page.items) < self._size:
            self._done = True
        if page.items:
            self._start = page.items[-1].message_number + 1
        return page.items
