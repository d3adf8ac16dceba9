"""A stateful model of ingestion (hypothesis RuleBasedStateMachine): deliver, redeliver, deliver
out of order, restart, query — and after every step, the invariants hold."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from rockets.core.aggregate import fold
from rockets.core.sequencer import Verdict
from rockets.records import Record
from rockets.runtime.engine import Engine
from rockets.settings import Settings
from rockets.stores import Store, open_store
from rockets.testing.store_contract import FOLD, REGISTRY, explode, launch, speed_up

CHANNELS = ("a", "b", "c")
LIMITS = msgspec.structs.replace(Settings().limits, max_pending_per_channel=5, max_pending_total=12)
T = datetime(2022, 2, 2, tzinfo=UTC)


def life(channel: str, length: int, seed: int) -> list[Record]:
    """A rocket's messages: launch, speed-ups, maybe a stop."""
    records = [launch(channel)]
    for n in range(2, length + 1):
        records.append(explode(channel, n) if (seed + n) % 7 == 0 else speed_up(channel, n, n))
    return records


class Ingestion(RuleBasedStateMachine):
    """Subclasses say which store: ``make_store(directory)``, and whether it survives restarts."""

    make_store: Callable[[Path], Store]
    durable: bool

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.directory = Path(tempfile.mkdtemp(prefix="rockets-stateful-"))
        self.store = self._open()
        self.lives: dict[str, list[Record]] = {}
        self.acknowledged: set[tuple[str, int]] = set()
        # Channels of this run's own: a shared database keeps what earlier runs wrote.
        self.prefix = uuid.uuid4().hex[:8]

    def _run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def _open(self) -> Store:
        store = type(self).make_store(self.directory)
        self._run(store.open(REGISTRY.state, FOLD))
        self.engine = Engine(REGISTRY, store)
        return store

    def teardown(self) -> None:
        self._run(self.store.close())
        self.loop.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    @initialize(
        lengths=st.lists(st.integers(1, 12), min_size=3, max_size=3), seed=st.integers(0, 6)
    )
    def histories(self, lengths: list[int], seed: int) -> None:
        self.lives = {
            c: life(f"{self.prefix}-{c}", n, seed) for c, n in zip(CHANNELS, lengths, strict=True)
        }

    def _deliver(self, records: list[Record]) -> list[Verdict]:
        (result,) = self._run(self.engine.process([records]))
        assert isinstance(result, list), result
        verdicts = [o.verdict for o in result]
        for record, verdict in zip(records, verdicts, strict=True):
            assert verdict in (
                Verdict.ACCEPTED,
                Verdict.DUPLICATE,
                Verdict.CHANNEL_FULL,
                Verdict.ALL_FULL,
            )
            if verdict in (Verdict.ACCEPTED, Verdict.DUPLICATE):
                self.acknowledged.add((record.channel, record.message_number))
        return verdicts

    @rule(data=st.data())
    def deliver_any(self, data: st.DataObject) -> None:
        channel = data.draw(st.sampled_from(CHANNELS))
        record = data.draw(st.sampled_from(self.lives[channel]))
        self._deliver([record])

    @rule(data=st.data())
    def deliver_a_batch_out_of_order(self, data: st.DataObject) -> None:
        everything = [r for records in self.lives.values() for r in records]
        batch = data.draw(st.lists(st.sampled_from(everything), min_size=1, max_size=6))
        self._deliver(batch)

    @precondition(lambda self: bool(self.acknowledged))
    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        channel, number = data.draw(st.sampled_from(sorted(self.acknowledged)))
        (verdict,) = self._deliver([self.lives[channel.rpartition("-")[2]][number - 1]])
        assert verdict is Verdict.DUPLICATE

    @rule(channel=st.sampled_from(CHANNELS))
    def deliver_in_order(self, channel: str) -> None:
        self._deliver(self.lives[channel])

    @rule()
    def restart(self) -> None:
        self._run(self.store.close())
        self.store = self._open()
        if not self.durable:
            self.acknowledged.clear()  # nothing survives a volatile store

    @invariant()
    def applied_prefix_is_contiguous_applied_once_and_folds_to_the_state(self) -> None:
        for records in self.lives.values():
            channel = records[0].channel
            events = self._run(self.store.events(channel, 1, 100))
            assert [e.message_number for e in events] == list(range(1, len(events) + 1))
            assert events == records[: len(events)]
            state = self._run(self.store.rocket(channel))
            if state is None:
                assert not events
                continue
            assert state.last_message_number == len(events)
            assert msgspec.structs.replace(state, pending=0, waiting_since=None) == fold(
                REGISTRY, channel, events
            )
            # Every acknowledged message is kept: applied, or waiting behind the gap.
            acked = {n for c, n in self.acknowledged if c == channel}
            assert len([n for n in acked if n > len(events)]) == state.pending

    @invariant()
    def buffers_stay_within_bounds(self) -> None:
        total = 0
        for records in self.lives.values():
            state = self._run(self.store.rocket(records[0].channel))
            pending = 0 if state is None else state.pending
            assert pending <= LIMITS.max_pending_per_channel
            total += pending
        if not self.store.shared:
            assert total <= LIMITS.max_pending_total


class MemoryIngestion(Ingestion):
    make_store = staticmethod(lambda directory: open_store("memory://", LIMITS))
    durable = False


class SQLiteIngestion(Ingestion):
    make_store = staticmethod(
        lambda directory: open_store(f"sqlite:///{directory}/db.sqlite", LIMITS)
    )
    durable = True


SETTINGS = settings(
    max_examples=60, stateful_step_count=25, deadline=None, suppress_health_check=list(HealthCheck)
)
TestMemoryIngestion = pytest.mark.filterwarnings("ignore")(MemoryIngestion.TestCase)
TestMemoryIngestion.settings = SETTINGS
TestSQLiteIngestion = SQLiteIngestion.TestCase
TestSQLiteIngestion.settings = SETTINGS
