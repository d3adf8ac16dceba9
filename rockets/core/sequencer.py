"""Per-channel dedup and reordering: turns messages in any order into each channel's log prefix.

Pure and synchronous: it holds, per channel, the last applied number, the highest number seen
and the messages waiting behind a gap. It never awaits, so a worker that owns a channel can use
it without a lock.

A message that could not be applied is held back with its successors (:meth:`Sequencer.hold_back`):
it waits in the buffer like the others, but at the head of it, right after the last applied
number, where no gap is left for a new message to fill; :meth:`Sequencer.release` takes the run
out again to be tried once more.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from rockets.records import Record

__all__ = ["ChannelLog", "Checkpoint", "Offer", "Sequencer", "Verdict"]


class Verdict(enum.Enum):
    """What the sequencer made of one offered message."""

    ACCEPTED = "accepted"
    """New: either applied now (with any waiting successors) or buffered behind a gap."""
    DUPLICATE = "duplicate"
    """Same number, type and payload as a message waiting in the buffer."""
    CONFLICT = "conflict"
    """Same number as a waiting message, but another type or payload."""
    APPLIED_BEFORE = "applied_before"
    """The number is already in the event log: compare with the stored event to classify it."""
    CHANNEL_FULL = "channel_full"
    """Ahead of a gap, and the channel's pending buffer is at its bound."""
    ALL_FULL = "all_full"
    """Ahead of a gap, and the pending buffers of all channels together are at their bound."""
    NUMBERS_EXHAUSTED = "numbers_exhausted"
    """Sent without a number, on a channel that has used the largest one (set by the engine)."""
    SET_ASIDE = "set_aside"
    """New and kept, but its apply failed: the channel waits at it (set by the engine)."""


@dataclass(slots=True)
class ChannelLog:
    """One channel's sequencing state."""

    applied: int = 0
    highest: int = 0
    pending: dict[int, Record] = field(default_factory=dict)

    def waiting_since(self) -> datetime | None:
        """When the oldest message waiting behind the gap was received (None: no gap)."""
        if not self.pending:
            return None
        return min(record.received_at for record in self.pending.values())


@dataclass(frozen=True, slots=True)
class Offer:
    """The result of :meth:`Sequencer.offer`.

    ``ready`` holds the records that join the event log now, in order (the offered one first,
    then every waiting successor it unblocked); ``existing`` the waiting record a duplicate or
    conflict was compared with.
    """

    verdict: Verdict
    ready: tuple[Record, ...] = ()
    existing: Record | None = None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A channel's sequencing state at one moment, to undo a group whose commit failed."""

    channel: str
    log: ChannelLog | None


class Sequencer:
    """Dedup + reorder buffers for every channel of one process.

    Args:
        max_pending_per_channel: how many messages one channel may hold ahead of its gap.
        max_pending_total: how many messages all channels together may hold ahead of gaps.
    """

    def __init__(self, max_pending_per_channel: int, max_pending_total: int) -> None:
        self.max_pending_per_channel = max_pending_per_channel
        self.max_pending_total = max_pending_total
        self.channels: dict[str, ChannelLog] = {}
        self.total_pending = 0

    def next_number(self, channel: str) -> int:
        """The number a message sent without one gets: one past the highest seen."""
        log = self.channels.get(channel)
        return 1 if log is None else log.highest + 1

    def pending_count(self, channel: str) -> int:
        log = self.channels.get(channel)
        return 0 if log is None else len(log.pending)

    def backlog(self, channel: str) -> tuple[int, datetime | None]:
        """How many messages of ``channel`` wait behind its gap, and since when."""
        log = self.channels.get(channel)
        return (0, None) if log is None else (len(log.pending), log.waiting_since())

    def applied(self, channel: str) -> int:
        log = self.channels.get(channel)
        return 0 if log is None else log.applied

    def position(self, channel: str) -> tuple[int, int, int]:
        """``(applied, highest, pending)``: the last applied number, the highest number seen,
        and how many messages wait behind the gap."""
        log = self.channels.get(channel)
        return (0, 0, 0) if log is None else (log.applied, log.highest, len(log.pending))

    def held(self, channel: str) -> bool:
        """Whether ``channel`` waits at a message held back (see :meth:`hold_back`)."""
        log = self.channels.get(channel)
        return log is not None and log.applied + 1 in log.pending

    def hold_back(self, run: Sequence[Record]) -> None:
        """Put back in its channel's buffer the end of a run just released (by :meth:`offer`
        or :meth:`release`), from the message that could not be applied on: the channel's
        applied number goes back to the one before it, and the channel waits at it. The run
        was accepted, so no bound refuses it."""
        first, last = run[0], run[-1]
        log = self.channels[first.channel]
        if last.message_number != log.applied or len(run) != log.applied - first.message_number + 1:
            raise ValueError(
                f"{first.channel}#{first.message_number}..{last.message_number} is not the end of "
                f"the channel's applied run (at {log.applied})"
            )
        for record in run:
            log.pending[record.message_number] = record
        self.total_pending += len(run)
        log.applied = first.message_number - 1

    def release(self, channel: str) -> tuple[Record, ...]:
        """Take out of ``channel``'s buffer the run held back at its head (see
        :meth:`hold_back`), to be applied again; empty when the channel waits at no such
        message."""
        log = self.channels.get(channel)
        if log is None:
            return ()
        ready = []
        while (successor := log.pending.pop(log.applied + 1, None)) is not None:
            ready.append(successor)
            log.applied += 1
        self.total_pending -= len(ready)
        return tuple(ready)

    def waiting_channels(self) -> list[str]:
        """The channels with messages waiting behind a gap."""
        return [channel for channel, log in self.channels.items() if log.pending]

    def pending_records(self, channel: str) -> list[Record]:
        """The messages of ``channel`` waiting behind its gap, in number order."""
        log = self.channels.get(channel)
        return [] if log is None else [log.pending[n] for n in sorted(log.pending)]

    def load(self, channel: str, applied: int, highest: int, pending: Iterable[Record]) -> None:
        """Take a channel's sequencing state as a store kept it (its waiting messages too)."""
        log = ChannelLog(applied, highest, {r.message_number: r for r in pending})
        previous = self.channels.get(channel)
        if previous is not None:
            self.total_pending -= len(previous.pending)
        self.channels[channel] = log
        self.total_pending += len(log.pending)

    def recover(self, record: Record) -> tuple[Record, ...]:
        """Take back a message a store kept, whatever the bounds: it was acknowledged, so it is
        never refused for a bound set lower since. Returns the records that join the event log
        now, as :meth:`offer` does."""
        bounds = self.max_pending_per_channel, self.max_pending_total
        self.max_pending_per_channel = self.max_pending_total = sys.maxsize
        try:
            return self.offer(record).ready
        finally:
            self.max_pending_per_channel, self.max_pending_total = bounds

    def offer(self, record: Record) -> Offer:
        """Take one numbered message and say what became of it."""
        number = record.message_number
        log = self.channels.get(record.channel)
        if log is None:
            # Only a message that is kept creates a channel: refusals leave nothing behind.
            log = ChannelLog()
        if number <= log.applied:
            return Offer(Verdict.APPLIED_BEFORE)
        waiting = log.pending.get(number)
        if waiting is not None:
            verdict = Verdict.DUPLICATE if waiting.same_message(record) else Verdict.CONFLICT
            return Offer(verdict, existing=waiting)
        if number != log.applied + 1:
            if len(log.pending) >= self.max_pending_per_channel:
                return Offer(Verdict.CHANNEL_FULL)
            if self.total_pending >= self.max_pending_total:
                return Offer(Verdict.ALL_FULL)
            log.pending[number] = record
            self.total_pending += 1
            log.highest = max(log.highest, number)
            self.channels.setdefault(record.channel, log)
            return Offer(Verdict.ACCEPTED)
        self.channels.setdefault(record.channel, log)
        ready = [record]
        log.applied = number
        while (successor := log.pending.pop(log.applied + 1, None)) is not None:
            ready.append(successor)
            log.applied += 1
        self.total_pending -= len(ready) - 1
        log.highest = max(log.highest, log.applied)
        return Offer(Verdict.ACCEPTED, ready=tuple(ready))

    def checkpoint(self, channel: str) -> Checkpoint:
        """Remember ``channel``'s state so that :meth:`restore` can bring it back."""
        log = self.channels.get(channel)
        if log is None:
            return Checkpoint(channel, None)
        return Checkpoint(channel, ChannelLog(log.applied, log.highest, dict(log.pending)))

    def restore(self, checkpoint: Checkpoint) -> None:
        """Put a channel back exactly as it was when ``checkpoint`` was taken."""
        current = self.channels.pop(checkpoint.channel, None)
        if current is not None:
            self.total_pending -= len(current.pending)
        if checkpoint.log is not None:
            self.channels[checkpoint.channel] = checkpoint.log
            self.total_pending += len(checkpoint.log.pending)
