"""The write path one worker runs for a group of messages: number, sequence, apply, stage.

The store holds the group's channels while the engine works (see :class:`rockets.stores.Group`)
and writes what it staged, all or nothing. Nothing a group changes is visible to readers before
the store has kept it, and a group that fails leaves its channels exactly as they were, so the
client may simply send the same messages again.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import msgspec

from rockets.core.aggregate import apply_record, initial_state, same_message, shown
from rockets.core.registry import Registry
from rockets.core.sequencer import Verdict
from rockets.errors import StoreError, TransientStoreError
from rockets.records import Applied, Record
from rockets.state import RocketState
from rockets.stores.base import Commit, Store
from rockets.wire import MAX_MESSAGE_NUMBER

__all__ = ["Engine", "Listener", "Outcome"]

TRANSIENT_RETRIES = 5

Listener = Callable[[list[Applied]], None]
"""Called after a group is stored, with each applied event, its position and the state it led
to."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one message: the record as numbered, the verdict, and for a duplicate or
    a conflict the message it was compared with."""

    record: Record
    verdict: Verdict
    existing: Record | None = None


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
    ) -> None:
        self.registry = registry
        self.store = store
        self.listeners = list(listeners)
        self.on_commit = on_commit

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

    def _shown(self, existing: Record, same: bool) -> Record:
        """The kept message a conflict is told with, in the current version of its payload."""
        return existing if same else shown(self.registry, existing)[0]

    async def _retrying(self, jobs: list[list[Record]]) -> list[list[Outcome]]:
        """Run the group again when the store says a concurrent writer got in the way."""
        for attempt in range(TRANSIENT_RETRIES):
            try:
                return await self._process(jobs)
            except TransientStoreError:
                if attempt == TRANSIENT_RETRIES - 1:
                    raise
                # Step aside a little, differently each time, so that the writers that
                # collided do not collide again.
                await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _process(self, jobs: list[list[Record]]) -> list[list[Outcome]]:
        channels = sorted({record.channel for job in jobs for record in job})
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
                            or initial_state(self.registry, channel)
                        )
                        for event in offer.ready:
                            state = apply_record(self.registry, state, event)
                            after.append(state)
                        applied.extend(offer.ready)
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
