"""How the PostgreSQL store counts its waiting messages without reading every open gap.

A channel with messages waiting has, in its row of ``rocket_channels``, ``waiting_since``: when
its oldest waiting message was received, on the database's clock (``now()`` of the transaction
that received it), never a process's; and ``held`` when it waits at a message set aside. A
partial index on ``(waiting_since, channel)`` of the rows with ``pending > 0`` gives
``GET /stalled`` its pages in order, the longest-waiting first, a page costing its size.

How many channels have waited at least some time is a count over that index, as long as the
gaps are many: 600,000 index entries take 60-150 ms. So the gaps are also counted in
``rocket_gaps``, by when their oldest message was received: one row per second, minute, hour and
day that holds such a time, and per shard (a channel always counts in the same one of
:data:`SHARDS`, so that groups on other channels rarely wait on the same row, and a row whose
gaps have all closed comes back to zero and is deleted by the group that empties it). The
channels that began to wait before a moment are the sum of the whole days, then hours, minutes
and seconds before it, a few hundred rows at most, plus a count on the index within the one
second the moment falls in. The rows of whole days also hold the messages waiting and their
bytes: their sum is the total the bound over all channels is checked against.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

__all__ = [
    "AGED",
    "OLDEST",
    "PAGE",
    "SCHEMA",
    "SHARDS",
    "TOTALS",
    "Gap",
    "GapCounts",
    "shard",
]

SHARDS = 16
"""Counter rows per second (minute, hour, day): groups on channels of other shards never wait on
each other's counters."""
_WIDTHS = (86_400, 3_600, 60, 1)
"""Seconds a counter row spans, coarsest first; the first also holds messages and bytes."""
_DAY = _WIDTHS[0]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)

SCHEMA = """
CREATE TABLE IF NOT EXISTS rocket_gaps (
    width integer NOT NULL,
    bucket bigint NOT NULL,
    shard smallint NOT NULL,
    channels bigint NOT NULL DEFAULT 0,
    held bigint NOT NULL DEFAULT 0,
    messages bigint NOT NULL DEFAULT 0,
    bytes bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (width, bucket, shard)
);
ALTER TABLE rocket_channels ADD COLUMN IF NOT EXISTS waiting_since timestamptz;
ALTER TABLE rocket_channels ADD COLUMN IF NOT EXISTS held boolean NOT NULL DEFAULT false;
ALTER TABLE rocket_messages ADD COLUMN IF NOT EXISTS arrived timestamptz NOT NULL DEFAULT now();
CREATE INDEX IF NOT EXISTS rocket_channels_waiting
    ON rocket_channels (waiting_since, channel) WHERE pending > 0;
CREATE INDEX IF NOT EXISTS rocket_channels_held
    ON rocket_channels (waiting_since, channel) WHERE held;
"""
"""The gap counters' table, and what the other tables keep for them (``arrived``: when a message
was received, on the database's clock)."""

_UPSERT = (
    "INSERT INTO rocket_gaps AS g (width, bucket, shard, channels, held, messages, bytes) "
    "SELECT * FROM unnest(%s::integer[], %s::bigint[], %s::smallint[], %s::bigint[], "
    "%s::bigint[], %s::bigint[], %s::bigint[]) ORDER BY 1, 2, 3 "
    "ON CONFLICT (width, bucket, shard) DO UPDATE SET channels = g.channels + excluded.channels, "
    "held = g.held + excluded.held, messages = g.messages + excluded.messages, "
    "bytes = g.bytes + excluded.bytes"
)
_EMPTIED = (
    "DELETE FROM rocket_gaps g USING unnest(%s::integer[], %s::bigint[], %s::smallint[]) "
    "AS t(width, bucket, shard) WHERE g.width = t.width AND g.bucket = t.bucket "
    "AND g.shard = t.shard AND g.channels = 0 AND g.held = 0 AND g.messages = 0 AND g.bytes = 0"
)
# (A second statement: one statement cannot see the rows its own upsert changed.)

_MOMENT = (
    "WITH x AS (SELECT now() - make_interval(secs => %(seconds)s) AS at), "
    "e AS (SELECT at, floor(extract(epoch FROM at))::bigint AS s FROM x)"
)
_BEFORE = (
    "(g.width = 86400 AND g.bucket < e.s / 86400) "
    "OR (g.width = 3600 AND g.bucket >= e.s / 86400 * 24 AND g.bucket < e.s / 3600) "
    "OR (g.width = 60 AND g.bucket >= e.s / 3600 * 60 AND g.bucket < e.s / 60) "
    "OR (g.width = 1 AND g.bucket >= e.s / 60 * 60 AND g.bucket < e.s)"
)
AGED = (
    f"{_MOMENT} SELECT "
    f"(SELECT coalesce(sum(g.channels), 0) FROM rocket_gaps g, e WHERE {_BEFORE}) "
    "+ (SELECT count(*) FROM rocket_channels c, e WHERE c.pending > 0 "
    "AND c.waiting_since >= to_timestamp(e.s) AND c.waiting_since <= e.at), "
    f"(SELECT coalesce(sum(g.held), 0) FROM rocket_gaps g, e WHERE {_BEFORE}) "
    "+ (SELECT count(*) FROM rocket_channels c, e WHERE c.held "
    "AND c.waiting_since >= to_timestamp(e.s) AND c.waiting_since <= e.at)"
)
"""How many channels began to wait at or before ``seconds`` ago, and how many of them wait at a
message set aside (positive epochs only: ``/`` truncates, as floor does above zero)."""
TOTALS = (
    "SELECT coalesce(sum(channels), 0), coalesce(sum(held), 0), coalesce(sum(messages), 0), "
    f"coalesce(sum(bytes), 0) FROM rocket_gaps WHERE width = {_DAY}"
)
"""Channels waiting, of them those at a message set aside, messages and bytes waiting."""
OLDEST = (
    "SELECT extract(epoch FROM now() - waiting_since)::float8 FROM rocket_channels "
    "WHERE pending > 0 ORDER BY waiting_since LIMIT 1"
)
_WAITING = "SELECT channel, state, state_at, applied, waiting_since FROM rocket_channels"
PAGE = (
    "SELECT {columns}, extract(epoch FROM now() - waiting_since)::float8 FROM ("
    f"({_WAITING} WHERE pending > 0 "
    "AND waiting_since <= now() - make_interval(secs => %(seconds)s) "
    "ORDER BY waiting_since, channel LIMIT %(first)s) UNION ALL "
    f"({_WAITING} WHERE held AND waiting_since > now() - make_interval(secs => %(seconds)s) "
    "ORDER BY waiting_since, channel LIMIT %(first)s)"
    ") w ORDER BY waiting_since, channel LIMIT %(limit)s OFFSET %(offset)s"
)
"""A page of the channels that began to wait at or before ``seconds`` ago, then of those
waiting at a message set aside that began later (all of which come after): the ``columns`` of
their rows the store reads states with, and how long they have waited. Each part is read in the
order of its index, no further than the page's end (``first``); the rows before the page cost
their index entries, not their states."""


def shard(channel: str) -> int:
    """The shard of ``channel``'s counters: the same in every process."""
    return zlib.crc32(channel.encode("utf-8", "surrogatepass")) % SHARDS


class Gap(NamedTuple):
    """A channel's waiting messages, as counted: when the oldest was received (the database's
    clock), how many wait, their payloads' bytes, and whether it waits at one set aside."""

    since: datetime
    messages: int
    size: int
    held: bool


def _seconds(moment: datetime) -> int:
    """Whole seconds since 1970 (floored), as the counters' buckets are numbered."""
    return (moment - _EPOCH) // _SECOND


class GapCounts:
    """The changes one group makes to the gap counters, summed by row."""

    def __init__(self) -> None:
        self._rows: dict[tuple[int, int, int], list[int]] = {}
        self.messages = 0
        """The change to the messages waiting, over all channels."""
        self.size = 0
        """The change to their bytes."""

    def move(self, channel: str, before: Gap | None, after: Gap | None) -> None:
        """Count ``channel``'s gap as ``after`` instead of ``before`` (None: no gap)."""
        if before == after:
            return
        part = shard(channel)
        # A gap that only grew or shrank stays in its rows: only its day's messages change.
        moved = (
            before is None
            or after is None
            or (before.since, before.held) != (after.since, after.held)
        )
        for gap, sign in ((before, -1), (after, 1)):
            if gap is None:
                continue
            second = _seconds(gap.since)
            self.messages += sign * gap.messages
            self.size += sign * gap.size
            for width in _WIDTHS if moved else _WIDTHS[:1]:
                row = self._rows.setdefault((width, second // width, part), [0, 0, 0, 0])
                if moved:
                    row[0] += sign
                    row[1] += sign * gap.held
                if width == _DAY:
                    row[2] += sign * gap.messages
                    row[3] += sign * gap.size

    def statements(self) -> Iterable[tuple[str, list[list[Any]]]]:
        """The statements (and their parameters) that write the changes: none without any."""
        rows = sorted((key, row) for key, row in self._rows.items() if any(row))
        if not rows:
            return
        keys = [[key[i] for key, _ in rows] for i in range(3)]
        counts = [[row[i] for _, row in rows] for i in range(4)]
        yield _UPSERT, [*keys, *counts]
        yield _EMPTIED, keys
