"""Per-channel dedup and reordering: turns messages in any order into each channel's log prefix.

Pure and synchronous: it holds, per channel, the last applied number, the highest number seen
and the messages waiting behind a gap. It never awaits, so a worker that owns a channel can use
it without a lock.

A message that could not be applied is held back with its successors (:meth:`Sequencer.hold_back`):
it waits in the buffer like the others, but at the head of it, right after the last applied
number, where no gap is left for a new message to fill; :meth:`Sequencer.release` takes the run
out again to be tried once more.

How long a message has waited is measured on a clock that does not step (the process's
monotonic clock): a wall clock set back an hour would make a gap an hour younger than one opened
after it. The channels that wait are kept in the order their oldest message began to wait
(:class:`rockets.core.wait_order.WaitOrder`), so that how many have waited long, and the longest
ones, are read without a walk over every gap.
"""

from __future__ import annotations

import enum
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from rockets.core.wait_order import WaitOrder
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
    BYTES_FULL = "bytes_full"
    """Ahead of a gap, and its payload would take the payloads waiting in all channels'
    buffers past their bound in bytes."""
    NUMBERS_EXHAUSTED = "numbers_exhausted"
    """Sent without a number, on a channel that has used the largest one (set by the engine)."""
    SET_ASIDE = "set_aside"
    """New and kept, but its apply failed: the channel waits at it (set by the engine)."""


@dataclass(slots=True)
class ChannelLog:
    """One channel's sequencing state.

    ``began`` is when its oldest waiting message began to wait, on the sequencer's clock: the
    time the channel is kept under in the wait order (None while nothing waits). ``since``
    holds when each waiting message began to wait, once they differ; None means every one
    began at ``began`` (a channel with one message waiting, most often, spares a dict).
    ``size`` is the bytes of their payloads.
    """

    applied: int = 0
    highest: int = 0
    pending: dict[int, Record] = field(default_factory=dict)
    since: dict[int, float] | None = None
    size: int = 0
    began: float | None = None

    def copy(self) -> ChannelLog:
        since = None if self.since is None else dict(self.since)
        return ChannelLog(
            self.applied, self.highest, dict(self.pending), since, self.size, self.began
        )

    def times(self) -> dict[int, float]:
        """``since``, made if every waiting message began at ``began`` so far."""
        if self.since is None:
            began = self.began
            self.since = dict.fromkeys(self.pending, began) if began is not None else {}
        return self.since

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
        max_pending_bytes: how many bytes of payloads all channels together may hold ahead of
            gaps (unbounded when omitted).
        clock: the clock waits are measured on, which must not step (seconds).

    Attributes:
        order: the channels with messages waiting, by when their oldest began to wait.
        held_channels: the channels waiting at a message held back (see :meth:`hold_back`).
        total_pending: messages waiting, over all channels.
        total_bytes: bytes of the payloads waiting, over all channels.
    """

    def __init__(
        self,
        max_pending_per_channel: int,
        max_pending_total: int,
        max_pending_bytes: int = sys.maxsize,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_pending_per_channel = max_pending_per_channel
        self.max_pending_total = max_pending_total
        self.max_pending_bytes = max_pending_bytes
        self.clock = clock
        self.channels: dict[str, ChannelLog] = {}
        self.order = WaitOrder()
        self.held_channels: set[str] = set()
        self.total_pending = 0
        self.total_bytes = 0

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
        was accepted, so no bound refuses it. Its messages wait since they were received."""
        first, last = run[0], run[-1]
        channel = first.channel
        log = self.channels[channel]
        if last.message_number != log.applied or len(run) != log.applied - first.message_number + 1:
            raise ValueError(
                f"{channel}#{first.message_number}..{last.message_number} is not the end of "
                f"the channel's applied run (at {log.applied})"
            )
        now, wall = self.clock(), time.time()
        since = log.times()
        added = 0
        for record in run:
            log.pending[record.message_number] = record
            since[record.message_number] = _since_received(record, now, wall)
            added += len(record.payload)
        log.size += added
        self.total_bytes += added
        self.total_pending += len(run)
        log.applied = first.message_number - 1
        self.held_channels.add(channel)
        self._reorder(channel, log)

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
        self.held_channels.discard(channel)
        if ready:
            self._forget(channel, log, ready)
        return tuple(ready)

    def pending_records(self, channel: str) -> list[Record]:
        """The messages of ``channel`` waiting behind its gap, in number order."""
        log = self.channels.get(channel)
        return [] if log is None else [log.pending[n] for n in sorted(log.pending)]

    def load(self, channel: str, applied: int, highest: int, pending: Iterable[Record]) -> None:
        """Take a channel's sequencing state as a store kept it (its waiting messages too,
        which wait since they were received)."""
        now, wall = self.clock(), time.time()
        since: dict[int, float] = {}
        log = ChannelLog(applied, highest)
        for record in pending:
            log.pending[record.message_number] = record
            since[record.message_number] = _since_received(record, now, wall)
            log.size += len(record.payload)
        if since:
            log.since, log.began = since, min(since.values())
        previous = self.channels.pop(channel, None)
        if previous is not None:
            self._drop(channel, previous)
        self._keep(channel, log)

    def recover(self, record: Record) -> tuple[Record, ...]:
        """Take back a message a store kept, whatever the bounds: it was acknowledged, so it is
        never refused for a bound set lower since. Returns the records that join the event log
        now, as :meth:`offer` does. One that waits, waits since it was received."""
        bounds = self.max_pending_per_channel, self.max_pending_total, self.max_pending_bytes
        self.max_pending_per_channel = self.max_pending_total = sys.maxsize
        self.max_pending_bytes = sys.maxsize
        try:
            offer = self.offer(record)
        finally:
            self.max_pending_per_channel, self.max_pending_total, self.max_pending_bytes = bounds
        if offer.verdict is Verdict.ACCEPTED and not offer.ready:
            channel = record.channel
            log = self.channels[channel]
            since = _since_received(record, self.clock(), time.time())
            if log.since is not None:
                log.since[record.message_number] = since
            # else it is the channel's only waiting message, which began at ``began``.
            if log.began is None or since < log.began:
                self._move(channel, log, since)
        return offer.ready

    def offer(self, record: Record) -> Offer:
        """Take one numbered message and say what became of it."""
        number = record.message_number
        channel = record.channel
        log = self.channels.get(channel)
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
            size = len(record.payload)
            if self.total_bytes + size > self.max_pending_bytes:
                return Offer(Verdict.BYTES_FULL)
            now = self.clock()
            if log.began is None:
                log.began = now
                self.order.add((now, channel))
            else:
                # The clock does not go back: the channel keeps its place in the order.
                log.times()[number] = now
            log.pending[number] = record
            log.size += size
            self.total_pending += 1
            self.total_bytes += size
            log.highest = max(log.highest, number)
            self.channels.setdefault(channel, log)
            return Offer(Verdict.ACCEPTED)
        self.channels.setdefault(channel, log)
        ready = [record]
        log.applied = number
        while (successor := log.pending.pop(log.applied + 1, None)) is not None:
            ready.append(successor)
            log.applied += 1
        if len(ready) > 1:
            self._forget(channel, log, ready[1:])
        log.highest = max(log.highest, log.applied)
        return Offer(Verdict.ACCEPTED, ready=tuple(ready))

    def checkpoint(self, channel: str) -> Checkpoint:
        """Remember ``channel``'s state so that :meth:`restore` can bring it back."""
        log = self.channels.get(channel)
        return Checkpoint(channel, None if log is None else log.copy())

    def restore(self, checkpoint: Checkpoint) -> None:
        """Put a channel back exactly as it was when ``checkpoint`` was taken."""
        channel = checkpoint.channel
        current = self.channels.pop(channel, None)
        if current is not None:
            self._drop(channel, current)
        if checkpoint.log is not None:
            self._keep(channel, checkpoint.log)

    def _forget(self, channel: str, log: ChannelLog, taken: Sequence[Record]) -> None:
        """Count out of the buffers the messages just taken out of ``log.pending``."""
        since = log.since
        freed = 0
        for record in taken:
            if since is not None:
                del since[record.message_number]
            freed += len(record.payload)
        log.size -= freed
        self.total_bytes -= freed
        self.total_pending -= len(taken)
        self._reorder(channel, log)

    def _reorder(self, channel: str, log: ChannelLog) -> None:
        """Keep ``channel`` in the wait order under its oldest waiting message's time."""
        if not log.pending:
            log.since = None
            began = None
        elif log.since is None:
            began = log.began
        else:
            began = min(log.since.values())
        if began != log.began:
            self._move(channel, log, began)

    def _move(self, channel: str, log: ChannelLog, began: float | None) -> None:
        if log.began is not None:
            self.order.remove((log.began, channel))
        if began is not None:
            self.order.add((began, channel))
        log.began = began

    def _drop(self, channel: str, log: ChannelLog) -> None:
        """Count ``log``, just taken out of ``channels``, out of the totals and the order."""
        self.total_pending -= len(log.pending)
        self.total_bytes -= log.size
        if log.began is not None:
            self.order.remove((log.began, channel))
        self.held_channels.discard(channel)

    def _keep(self, channel: str, log: ChannelLog) -> None:
        """Make ``log`` the channel's, counted in the totals and the order (under
        ``log.began``)."""
        self.channels[channel] = log
        self.total_pending += len(log.pending)
        self.total_bytes += log.size
        if log.began is not None:
            self.order.add((log.began, channel))
        if log.applied + 1 in log.pending:
            self.held_channels.add(channel)


def _since_received(record: Record, now: float, wall: float) -> float:
    """When a message began to wait whose wait the sequencer did not see begin (read back by a
    store, or held back after it was taken out): as long before ``now``, on the sequencer's
    clock, as it was received before ``wall``, the wall clock's time; never after ``now``,
    should the wall clock have been set back since."""
    return now - max(0.0, wall - record.received_at.timestamp())
