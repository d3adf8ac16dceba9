"""The states the PostgreSQL store keeps besides each rocket's current one, and those its
follower rebuilds.

An event's row holds the event only: a state kept with every event made a rocket whose state
grows keep its every size once per event (200 events of 10 KB: 2 MB of payload, 200 MB of
states). What is kept instead:

- the current state, once, in the channel's row. A small state is written with every group
  that changes it; a large one (over :data:`LARGE_STATE` bytes) only every
  :data:`WRITTEN_EVERY` events, or when what is not folded changes (its backlog, a message set
  aside, a rebuild): in between, the row holds the state right after an earlier event
  (``state_at``), and whoever reads it folds the events since onto it. Rewriting a state of
  1 MB with every event of 10 KB wrote (and left for VACUUM) a hundred times what the events
  hold;
- snapshots (``rocket_snapshots``): the state right after some events, so that ``?at=`` and
  ``/history`` fold from the nearest one at or before where they start rather than from the
  first event. A snapshot is taken once at least :data:`SNAPSHOT_EVENTS` events and at least
  ``1 /`` :data:`SNAPSHOT_SHARE` of the state's size in payloads have been applied since the
  last one: a replay folds at most that many events (or that many bytes, when the state is
  large and its events small), and the snapshots together hold at most twice the payloads, however
  the state grows.

Reading a large state costs as much as writing it, so a process keeps (:class:`RecentStates`)
the current state of the channels it wrote last, by the stamp the channel's row counts its
states with: a group whose channel still has that stamp reads no state.

The follower hands on every event with the state right after it: the channel's current state
for its last event (kept, when this process wrote it), else the event folded onto the state after
the one before, which the follower keeps for the channels it saw last; a channel it has not kept
starts from the nearest snapshot.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import NamedTuple

from rockets.state import RocketState

__all__ = [
    "LARGE_STATE",
    "SNAPSHOT_EVENTS",
    "SNAPSHOT_SHARE",
    "WRITTEN_EVERY",
    "Mark",
    "RecentStates",
    "snapshot_due",
]

LARGE_STATE = 16 * 1024
"""Bytes (encoded) above which a state is written only every :data:`WRITTEN_EVERY` events."""
WRITTEN_EVERY = 100
"""Events at most that a read of a large state folds onto the one written."""
SNAPSHOT_EVENTS = 100
"""Events applied at least between two snapshots of a channel: a replay folds about as many."""
SNAPSHOT_SHARE = 2
"""A snapshot is taken once the payloads applied since the last one reach ``1 / SNAPSHOT_SHARE``
of the state's size: snapshots hold at most ``SNAPSHOT_SHARE`` times the payloads."""
RECENT_CHANNELS = 10_000
"""Channels whose state a cache keeps, at most."""
RECENT_BYTES = 32 * 1024 * 1024
"""About how many bytes of states (as encoded) a cache keeps, at most (a process has two: the
states it wrote, and those its follower handed on)."""


class Mark(NamedTuple):
    """Where a channel stands towards its next snapshot: the event of its last one (0: none),
    the bytes of payloads applied since, and the size of its state when last written."""

    snapshot: int
    unsnapped: int
    size: int


def snapshot_due(number: int, mark: Mark) -> bool:
    """Whether the state right after event ``number`` is to be kept, ``mark`` counting that
    event's payload already."""
    return (
        number - mark.snapshot >= SNAPSHOT_EVENTS and SNAPSHOT_SHARE * mark.unsnapped >= mark.size
    )


class RecentStates:
    """One state for each of the channels seen last, with the version it is (an event's number,
    a row's stamp), bounded in count and (about) in bytes."""

    def __init__(self, channels: int = RECENT_CHANNELS, size: int = RECENT_BYTES) -> None:
        self._kept: OrderedDict[str, tuple[int, RocketState, int]] = OrderedDict()
        self._channels = channels
        self._size = size
        self._held = 0

    def taken(self, channels: Iterable[str]) -> dict[str, tuple[int, RocketState, int]]:
        """The version, state and size kept of each of ``channels`` that has one."""
        kept = self._kept
        return {channel: kept[channel] for channel in channels if channel in kept}

    def get(self, channel: str, version: int) -> tuple[RocketState, int] | None:
        """``channel``'s state and its size, if the one kept is ``version``."""
        kept = self._kept.get(channel)
        if kept is None or kept[0] != version:
            return None
        return kept[1], kept[2]

    def forget(self, channels: Iterable[str]) -> None:
        """Keep nothing of ``channels``."""
        for channel in channels:
            kept = self._kept.pop(channel, None)
            if kept is not None:
                self._held -= kept[2]

    def put(self, channel: str, version: int, state: RocketState, size: int) -> None:
        """Keep ``state`` as ``channel``'s, ``version``, about ``size`` bytes encoded, unless a
        later version is kept (a reader that read before a writer wrote may put after it)."""
        kept = self._kept.get(channel)
        if kept is not None and kept[0] > version:
            return
        kept = self._kept.pop(channel, None)
        if kept is not None:
            self._held -= kept[2]
        if size > self._size:
            return
        self._kept[channel] = (version, state, size)
        self._held += size
        while len(self._kept) > self._channels or self._held > self._size:
            _, (_, _, dropped) = self._kept.popitem(last=False)
            self._held -= dropped
