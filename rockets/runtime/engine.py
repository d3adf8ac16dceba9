"""The write path one worker runs for a group of messages: number, sequence, apply, stage.

The store holds the group's channels while the engine works (see :class:`rockets.stores.Group`)
and writes what it staged, all or nothing. Nothing a group changes is visible to readers before
the store has kept it, and a group that fails leaves its channels exactly as they were, so the
client may simply send the same messages again.

A plugin's ``apply`` that raises stops its channel only, at that message: the events before it
are applied, it and its successors are kept and wait (the message is *set aside*: the channel's
state says which, why and whose plugin), and every later group that touches the channel tries
it again, so that the channel goes on by itself once a plugin that applies it is loaded.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import msgspec

from rockets.core.aggregate import (
    apply_record,
    initial_state,
    same_message,
    set_aside_of,
    shown,
)
from rockets.core.registry import Registry
from rockets.core.sequencer import Verdict
from rockets.errors import SequenceError, StoreError, TransientStoreError, UnreadableEventError
from rockets.records import Applied, Record
from rockets.runtime.faults import Faults
from rockets.runtime.slow_calls import SlowCalls
from rockets.state import RocketState, SetAside
from rockets.stores.base import Commit, Store
from rockets.wire import MAX_MESSAGE_NUMBER

__all__ = ["Engine", "Listener", "Outcome"]

TRANSIENT_RETRIES = 5
RESUMED_PER_GROUP = 256
"""Channels tried again in one group by :meth:`Engine.resume`."""

Listener = Callable[[list[Applied]], None]
"""Called after a group is stored, with each applied event, its position and the state it led
to."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one message: the record as numbered, the verdict, for a duplicate or a
    conflict the message it was compared with, and for a message set aside what its channel
    shows of it."""

    record: Record
    verdict: Verdict
    existing: Record | None = None
    set_aside: SetAside | None = None


def _mark_set_aside(
    results: list[list[Outcome]], told: Sequence[tuple[str, SetAside | None, Exception | None]]
) -> None:
    """Say ``setAside`` of each message of this group set aside in it: the one whose own
    apply failed, or one received earlier in the group, behind a gap the group filled."""
    asides = {(channel, aside.message_number): aside for channel, aside, _ in told if aside}
    if not asides:
        return
    for outcomes in results:
        for index, outcome in enumerate(outcomes):
            record = outcome.record
            aside = asides.get((record.channel, record.message_number))
            if aside is not None and outcome.verdict is Verdict.ACCEPTED:
                outcomes[index] = Outcome(record, Verdict.SET_ASIDE, set_aside=aside)


class Engine:
    """Sequencer → aggregate → store, for the channels of the calling worker.

    Within one process, ``process`` never runs twice at once for the same channel: the worker
    pool gives every channel to one worker. Across processes, the store serializes.
    """

    def __init__(
        self,
        registry: Registry,
        store: Store,
        listeners: Sequence[Listener] = (),
        on_commit: Callable[[float], None] | None = None,
        slow: SlowCalls | None = None,
        faults: Faults | None = None,
    ) -> None:
        self.registry = registry
        self.store = store
        self.listeners = list(listeners)
        self.on_commit = on_commit
        self.slow = slow
        """Where an ``apply`` slower than the budget is told (each one is timed)."""
        self.faults = faults if faults is not None else Faults()
        """Where a channel newly waiting at a set-aside message is told, and cleared."""
        self.resumed = 0
        """Channels that went on past a set-aside message, since the engine was made."""
        self._reported: set[str] = set()
        # Channels this process told as waiting at a set-aside message: on a shared store,
        # another process may resume one, and this one clears it when it next touches it.

    async def process(self, jobs: list[list[Record]]) -> list[list[Outcome] | Exception]:
        """Handle several requests' messages (each job is one request's share) as one group.

        If the group fails for any reason but the store's, it is undone and each job is tried
        alone, so that one request a plugin cannot apply does not fail the others with it.
        """
        try:
            return list(await self._retrying(jobs))
        except StoreError:
            raise
        except Exception:
            if len(jobs) == 1:
                raise
        results: list[list[Outcome] | Exception] = []
        for job in jobs:
            try:
                results.extend(await self._retrying([job]))
            except StoreError:
                raise
            except Exception as exc:
                results.append(exc)
        return results

    async def resume(self, channels: Sequence[str]) -> int:
        """Try again the messages set aside in ``channels`` (no message of theirs needed, for
        a store whose states are kept rather than rebuilt at start); how many channels went
        on. Not to be run beside the worker pool on a store that is not ``shared``: it takes
        the channels' sequencing state without their workers."""
        before = self.resumed
        for start in range(0, len(channels), RESUMED_PER_GROUP):
            await self._retrying([], channels[start : start + RESUMED_PER_GROUP])
        return self.resumed - before

    def fold(self, state: RocketState, records: Sequence[Record]) -> RocketState:
        """A store's :data:`rockets.stores.Fold` that sets aside what it cannot apply:
        ``records`` applied to ``state`` up to the first whose apply raised, then the state
        before it, waiting at it (``set_aside``), the failure told to the faults.

        Raises:
            UnreadableEventError: a record this app's plugins cannot read (a type none
                registers, a payload version or an upcaster that fails): a start stops there,
                in one sentence, since every process serving a store needs the plugins that
                wrote its events.
        """
        for record in records:
            try:
                state = apply_record(self.registry, state, record)
            except (SequenceError, UnreadableEventError):
                raise
            except Exception as exc:
                aside = set_aside_of(self.registry, record, exc)
                self._tell([(record.channel, aside, exc)])
                return state.with_set_aside(aside)
        return state

    def _tell(self, told: Sequence[tuple[str, SetAside | None, Exception | None]]) -> None:
        """Report each channel newly waiting at a message set aside, and clear each one that
        went on past it."""
        for channel, aside, exc in told:
            key = f"channel {channel!r}"
            if aside is None or exc is None:
                self.resumed += 1
                self._reported.discard(channel)
                self.faults.clear(key)
            else:
                self._reported.add(channel)
                event = f"{channel}#{aside.message_number}"
                self.faults.report(key, exc, plugin=aside.plugin, event=event)

    def _shown(self, existing: Record, same: bool) -> Record:
        """The kept message a conflict is told with, in the current version of its payload."""
        return existing if same else shown(self.registry, existing)[0]

    async def _retrying(
        self, jobs: list[list[Record]], resume: Sequence[str] = ()
    ) -> list[list[Outcome]]:
        """Run the group again when the store says a concurrent writer got in the way."""
        for attempt in range(TRANSIENT_RETRIES):
            try:
                return await self._process(jobs, resume)
            except TransientStoreError:
                if attempt == TRANSIENT_RETRIES - 1:
                    raise
                # Step aside a little, differently each time, so that the writers that
                # collided do not collide again.
                await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _slow_apply(self, record: Record, seconds: float) -> None:
        registered = self.registry.lookup(record.message_type)
        plugin = registered.plugin if registered is not None else "?"
        if self.slow is not None:
            self.slow.took(plugin, "apply", seconds, record.message_type)

    async def _process(
        self, jobs: list[list[Record]], resume: Sequence[str] = ()
    ) -> list[list[Outcome]]:
        touched = {record.channel for job in jobs for record in job}
        channels = sorted(touched.union(resume) if resume else touched)
        registry = self.registry
        clock = time.perf_counter
        budget = self.slow.budget if self.slow is not None else math.inf
        async with self.store.group(channels) as group:
            sequencer = group.sequencer
            staged: dict[str, RocketState] = {}
            received: list[Record] = []
            applied: list[Record] = []
            results: list[list[Outcome]] = []
            # Events applied earlier in this group are not in the store yet; a duplicate of one
            # is looked up here. Indexed only when a duplicate asks, as most groups have none.
            fresh: dict[tuple[str, int], Record] = {}
            indexed = 0
            # The state right after each applied event, for the log and its listeners.
            after: list[RocketState] = []
            # Channels newly waiting at a set-aside message, or going on past one: told once
            # the group is kept.
            told: list[tuple[str, SetAside | None, Exception | None]] = []

            def join(state: RocketState, ready: Sequence[Record]) -> RocketState:
                """``ready`` applied to ``state``; from the first event whose apply raises,
                the rest goes back to the buffer and the state waits at it."""
                waited = state.set_aside is not msgspec.UNSET
                if waited:
                    # Tried again now: it waits at nothing unless it fails again.
                    state = state.with_set_aside(msgspec.UNSET)
                for index, event in enumerate(ready):
                    # Timed: an apply cannot be interrupted, but a slow one is told.
                    started = clock()
                    try:
                        state = apply_record(registry, state, event)
                    except SequenceError:
                        raise
                    except Exception as exc:
                        sequencer.hold_back(ready[index:])
                        applied.extend(ready[:index])
                        aside = set_aside_of(registry, event, exc)
                        told.append((state.channel, aside, exc))
                        return state.with_set_aside(aside)
                    took = clock() - started
                    if took > budget:
                        self._slow_apply(event, took)
                    after.append(state)
                applied.extend(ready)
                if waited:
                    told.append((state.channel, None, None))
                return state

            reported = self._reported
            for channel in channels:
                # A channel waiting at a set-aside message is tried again whenever touched.
                if sequencer.held(channel):
                    state = staged.get(channel) or group.state(channel)
                    state = state or initial_state(registry, channel)
                    tried = join(state, sequencer.release(channel))
                    if tried != state:
                        staged[channel] = tried
                elif reported and channel in reported:
                    told.append((channel, None, None))  # another process resumed it
            for job in jobs:
                outcomes: list[Outcome] = []
                for record in job:
                    channel = record.channel
                    if record.message_number == 0:
                        number = sequencer.next_number(channel)
                        record = msgspec.structs.replace(record, message_number=number)
                        if number > MAX_MESSAGE_NUMBER:
                            outcomes.append(Outcome(record, Verdict.NUMBERS_EXHAUSTED))
                            continue
                    offer = sequencer.offer(record)
                    verdict = offer.verdict
                    if verdict is Verdict.ACCEPTED:
                        received.append(record)
                        state = (
                            staged.get(channel)
                            or group.state(channel)
                            or initial_state(registry, channel)
                        )
                        if offer.ready:
                            state = join(state, offer.ready)
                        staged[channel] = state
                        outcomes.append(Outcome(record, verdict))
                    elif verdict is Verdict.APPLIED_BEFORE:
                        key = (channel, record.message_number)
                        for event in applied[indexed:]:
                            fresh[event.channel, event.message_number] = event
                        indexed = len(applied)
                        existing = fresh.get(key) or await group.applied(*key)
                        if existing is None:
                            raise StoreError(f"event {channel}#{key[1]} is missing from the store")
                        same = same_message(self.registry, existing, record)
                        verdict = Verdict.DUPLICATE if same else Verdict.CONFLICT
                        outcomes.append(Outcome(record, verdict, self._shown(existing, same)))
                    elif verdict is Verdict.CONFLICT and offer.existing is not None:
                        # Waiting since before the plugin's schema changed: compared up to date.
                        same = same_message(self.registry, offer.existing, record)
                        verdict = Verdict.DUPLICATE if same else Verdict.CONFLICT
                        outcomes.append(Outcome(record, verdict, self._shown(offer.existing, same)))
                    else:
                        outcomes.append(Outcome(record, verdict, offer.existing))
                results.append(outcomes)
            states = [s.with_backlog(*sequencer.backlog(c)) for c, s in staged.items()]
            if after:
                # A channel's last event goes with the state as stored (its backlog too).
                final = {state.channel: state for state in states}
                for index in range(len(applied) - 1, -1, -1):
                    channel = applied[index].channel
                    if channel in final:
                        after[index] = final.pop(channel)
            group.stage(Commit(received=received, applied=applied, states=states, after=after))
            writing = time.perf_counter()
        if told:
            self._tell(told)
            _mark_set_aside(results, told)
        if self.on_commit is not None:
            self.on_commit(time.perf_counter() - writing)
        if applied and self.listeners:
            heard = [
                Applied(position, record, state)
                for position, record, state in zip(group.positions, applied, after, strict=True)
            ]
            for listener in self.listeners:
                listener(heard)
        return results
