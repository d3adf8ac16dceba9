"""The write path one worker runs for a group of messages: sequence, apply, commit, publish.

Nothing a group changes is visible to readers before the store has committed it, and a group
whose commit fails leaves the sequencer exactly as it found it, so the client may simply send
the same messages again.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import msgspec

from rockets.aggregate import apply_record, initial_state
from rockets.errors import StoreError
from rockets.projection import Projection
from rockets.records import Record
from rockets.registry import Registry
from rockets.schemas import MAX_MESSAGE_NUMBER
from rockets.sequencer import Checkpoint, Sequencer, Verdict
from rockets.state import RocketState
from rockets.stores.base import Commit, Store

__all__ = ["Engine", "Outcome"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one message: the record as numbered, the verdict, and for a duplicate or
    a conflict the message it was compared with."""

    record: Record
    verdict: Verdict
    existing: Record | None = None


class Engine:
    """Sequencer → aggregate → store → projection, for the channels of the calling worker.

    ``process`` must never run twice at once for the same channel; the worker pool guarantees
    it by giving every channel to one worker.
    """

    def __init__(
        self, registry: Registry, store: Store, sequencer: Sequencer, projection: Projection
    ) -> None:
        self.registry = registry
        self.store = store
        self.sequencer = sequencer
        self.projection = projection

    async def process(self, jobs: list[list[Record]]) -> list[list[Outcome] | Exception]:
        """Handle several requests' messages (each job is one request's share) as one commit.

        If the group fails for any reason but the store's, it is undone and each job is tried
        alone, so that one request a plugin cannot apply does not fail the others with it.
        """
        try:
            return list(await self._process(jobs))
        except StoreError:
            raise
        except Exception:
            if len(jobs) == 1:
                raise
        results: list[list[Outcome] | Exception] = []
        for job in jobs:
            try:
                results.extend(await self._process([job]))
            except StoreError:
                raise
            except Exception as exc:
                results.append(exc)
        return results

    async def _process(self, jobs: list[list[Record]]) -> list[list[Outcome]]:
        sequencer = self.sequencer
        checkpoints: dict[str, Checkpoint] = {}
        staged: dict[str, RocketState] = {}
        received: list[Record] = []
        applied: list[Record] = []
        # Events applied earlier in this group are not in the store yet.
        fresh: dict[tuple[str, int], Record] = {}
        results: list[list[Outcome]] = []
        try:
            for job in jobs:
                outcomes: list[Outcome] = []
                for record in job:
                    channel = record.channel
                    if channel not in checkpoints:
                        checkpoints[channel] = sequencer.checkpoint(channel)
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
                        state = staged.get(channel) or self._current(channel)
                        for event in offer.ready:
                            state = apply_record(self.registry, state, event)
                            fresh[channel, event.message_number] = event
                        applied.extend(offer.ready)
                        staged[channel] = state
                        outcomes.append(Outcome(record, verdict))
                    elif verdict is Verdict.APPLIED_BEFORE:
                        key = (channel, record.message_number)
                        existing = fresh.get(key) or await self.store.event(*key)
                        if existing is None:
                            raise StoreError(f"event {channel}#{key[1]} is missing from the store")
                        same = existing.same_message(record)
                        verdict = Verdict.DUPLICATE if same else Verdict.CONFLICT
                        outcomes.append(Outcome(record, verdict, existing))
                    else:
                        outcomes.append(Outcome(record, verdict, offer.existing))
                results.append(outcomes)
            states = [self._with_pending(state) for state in staged.values()]
            await self.store.commit(Commit(received=received, applied=applied, states=states))
        except BaseException:
            for checkpoint in checkpoints.values():
                sequencer.restore(checkpoint)
            raise
        self.projection.put(states)
        return results

    async def recover(self) -> int:
        """Rebuild the sequencer and the projection from everything the store kept.

        Returns:
            How many messages were read.
        """
        sequencer = self.sequencer
        limits = sequencer.max_pending_per_channel, sequencer.max_pending_total
        # What the store kept was acknowledged: it is never refused for a bound set lower since.
        sequencer.max_pending_per_channel = sequencer.max_pending_total = sys.maxsize
        staged: dict[str, RocketState] = {}
        count = 0
        try:
            async for record in self.store.received():
                count += 1
                offer = sequencer.offer(record)
                state = staged.get(record.channel) or self._current(record.channel)
                for event in offer.ready:
                    state = apply_record(self.registry, state, event)
                staged[record.channel] = state
        finally:
            sequencer.max_pending_per_channel, sequencer.max_pending_total = limits
        self.projection.put(self._with_pending(state) for state in staged.values())
        return count

    def _current(self, channel: str) -> RocketState:
        return self.projection.get(channel) or initial_state(channel)

    def _with_pending(self, state: RocketState) -> RocketState:
        pending = self.sequencer.pending_count(state.channel)
        if pending == state.pending:
            return state
        return msgspec.structs.replace(state, pending=pending)
