from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from rockets import Event, EventType, RocketState, hookimpl
from rockets.app import load_plugins
from rockets.core.aggregate import initial_state
from rockets.core.registry import Registry
from rockets.core.sequencer import Verdict
from rockets.errors import StoreError
from rockets.records import Record
from rockets.runtime.engine import Engine
from rockets.settings import Settings
from rockets.stores import Commit, MemoryStore
from rockets.wire import MAX_MESSAGE_NUMBER

pytestmark = pytest.mark.anyio
T = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_plugins(Settings()).registry()


class FlakyStore(MemoryStore):
    """A memory store whose next write can be made to fail."""

    def __init__(self) -> None:
        super().__init__(
            msgspec.structs.replace(
                Settings().limits, max_pending_per_channel=8, max_pending_total=100
            )
        )
        self.fail_next = False
        self.commits: list[Commit] = []

    async def _write(self, commit: Commit, positions: range) -> None:
        if self.fail_next:
            self.fail_next = False
            raise StoreError("disk on fire")
        self.commits.append(commit)
        await super()._write(commit, positions)


def engine_for(registry: Registry, store: FlakyStore | None = None) -> Engine:
    return Engine(registry, store or FlakyStore())


def store_of(engine: Engine) -> FlakyStore:
    assert isinstance(engine.store, FlakyStore)
    return engine.store


def speed_up(number: int, by: int = 1, channel: str = "c") -> Record:
    return Record(channel, number, "RocketSpeedIncreased", T, T, msgspec.json.encode({"by": by}))


def launch(channel: str = "c", number: int = 1) -> Record:
    payload = {"type": "Falcon-9", "launchSpeed": 10, "mission": "M"}
    return Record(channel, number, "RocketLaunched", T, T, msgspec.json.encode(payload))


async def test_group_applies_and_commits_once(registry: Registry) -> None:
    store = FlakyStore()
    engine = engine_for(registry, store)
    results = await engine.process([[speed_up(3)], [launch()], [speed_up(2), speed_up(4)]])
    assert [[o.verdict for o in job] for job in results] == [
        [Verdict.ACCEPTED],
        [Verdict.ACCEPTED],
        [Verdict.ACCEPTED, Verdict.ACCEPTED],
    ]
    assert len(store.commits) == 1
    (commit,) = store.commits
    assert [r.message_number for r in commit.received] == [3, 1, 2, 4]
    assert [r.message_number for r in commit.applied] == [1, 2, 3, 4]
    state = store_of(engine).index.get("c")
    assert state is not None
    assert (state.speed, state.last_message_number, state.pending) == (13, 4, 0)
    assert [s.last_message_number for s in commit.states] == [4]


async def test_pending_only_channel_is_visible_with_its_count(registry: Registry) -> None:
    engine = engine_for(registry)
    await engine.process([[speed_up(5)], [speed_up(3)]])
    state = store_of(engine).index.get("c")
    assert state is not None
    assert (state.last_message_number, state.pending, state.status) == (0, 2, "unknown")


async def test_duplicates_of_applied_events_are_checked_against_the_store(
    registry: Registry,
) -> None:
    engine = engine_for(registry)
    await engine.process([[launch(), speed_up(2, by=7)]])
    # Earlier group (in the store), and same group (not yet committed).
    results = await engine.process(
        [[speed_up(2, by=7), speed_up(2, by=8), speed_up(3), speed_up(3), speed_up(3, by=9)]]
    )
    verdicts = [o.verdict for o in results[0]]
    assert verdicts == [
        Verdict.DUPLICATE,
        Verdict.CONFLICT,
        Verdict.ACCEPTED,
        Verdict.DUPLICATE,
        Verdict.CONFLICT,
    ]
    conflict = results[0][1]
    assert conflict.existing is not None
    assert conflict.existing.payload == b'{"by":7}'
    state = store_of(engine).index.get("c")
    assert state is not None
    assert state.speed == 10 + 7 + 1


async def test_unnumbered_messages_get_the_next_number(registry: Registry) -> None:
    engine = engine_for(registry)
    await engine.process([[launch(), speed_up(5)]])
    results = await engine.process([[speed_up(0), speed_up(0, channel="fresh")]])
    assert [o.record.message_number for o in results[0]] == [6, 1]


async def test_failed_commit_changes_nothing(registry: Registry) -> None:
    store = FlakyStore()
    engine = engine_for(registry, store)
    await engine.process([[launch(), speed_up(3)]])
    before = store_of(engine).index.get("c")
    store.fail_next = True
    with pytest.raises(StoreError):
        await engine.process([[speed_up(2), speed_up(5), launch("other")]])
    assert store_of(engine).index.get("c") == before
    assert store_of(engine).index.get("other") is None
    assert store_of(engine).sequencer.applied("c") == 1
    assert store_of(engine).sequencer.pending_count("c") == 1
    assert store_of(engine).sequencer.total_pending == 1
    # Sending the same messages again works as if the failure never happened.
    results = await engine.process([[speed_up(2), speed_up(5), launch("other")]])
    assert [o.verdict for o in results[0]] == [Verdict.ACCEPTED] * 3
    state = store_of(engine).index.get("c")
    assert state is not None
    assert state.last_message_number == 3


async def test_bounds_refuse_and_report(registry: Registry) -> None:
    engine = engine_for(registry)
    results = await engine.process([[speed_up(n) for n in range(2, 12)]])
    verdicts = [o.verdict for o in results[0]]
    assert verdicts.count(Verdict.ACCEPTED) == 8
    assert verdicts[8:] == [Verdict.CHANNEL_FULL] * 2


class Boom(msgspec.Struct):
    x: int


class BoomPlugin:
    """A message type whose ``apply`` fails on ``x == 13``."""

    @staticmethod
    def apply(state: RocketState, event: Event[Boom]) -> RocketState:
        return msgspec.structs.replace(state, speed=state.speed // (event.message.x - 13))

    @hookimpl
    def register_event_types(self) -> list[EventType[Any]]:
        return [EventType(name="Boom", schema=Boom, apply=self.apply)]


class FixedBoomPlugin(BoomPlugin):
    """The same message type, its ``apply`` fixed."""

    @staticmethod
    def apply(state: RocketState, event: Event[Boom]) -> RocketState:
        return msgspec.structs.replace(state, speed=state.speed + 1)


def boom_registry(plugin: object | None = None) -> Registry:
    return load_plugins(Settings(), plugins=[plugin or BoomPlugin()]).registry()


def boom(number: int, channel: str = "b", x: int = 13) -> Record:
    return Record(channel, number, "Boom", T, T, msgspec.json.encode({"x": x}))


async def test_a_failing_apply_sets_its_message_aside_not_its_group() -> None:
    engine = engine_for(boom_registry())
    results = await engine.process([[launch("a")], [boom(1)], [speed_up(2, channel="a")]])
    outcomes = [o for job in results for o in job]  # type: ignore[union-attr]
    assert [o.verdict for o in outcomes] == [Verdict.ACCEPTED, Verdict.SET_ASIDE, Verdict.ACCEPTED]
    aside = outcomes[1].set_aside
    assert aside is not None
    assert (aside.message_number, aside.message_type, aside.plugin) == (1, "Boom", "BoomPlugin")
    assert aside.error == "ZeroDivisionError: integer division or modulo by zero"
    store = store_of(engine)
    state = store.index.get("a")
    assert state is not None
    assert state.last_message_number == 2
    kept = store.index.get("b")  # kept, waiting at #1
    assert kept is not None
    assert (kept.last_message_number, kept.pending, kept.set_aside) == (0, 1, aside)
    assert store.sequencer.applied("b") == 0
    assert [r.message_number for r in store.commits[-1].received if r.channel == "b"] == [1]
    (fault,) = engine.faults.open
    assert (fault.key, fault.plugin, fault.event) == ("channel 'b'", "BoomPlugin", "b#1")


async def test_a_message_set_aside_behind_a_gap_lets_the_gap_filler_through() -> None:
    """The issue's scenario: #2 (whose apply raises) waits behind the gap; the valid #1 that
    fills it is applied, and #2 with what follows waits, set aside."""
    engine = engine_for(boom_registry())
    (first,) = await engine.process([[boom(2)]])
    assert [o.verdict for o in first] == [Verdict.ACCEPTED]  # type: ignore[union-attr]
    (filler,) = await engine.process([[launch("b")]])
    assert [o.verdict for o in filler] == [Verdict.ACCEPTED]  # type: ignore[union-attr]
    (later,) = await engine.process([[speed_up(n, channel="b") for n in range(3, 6)]])
    assert [o.verdict for o in later] == [Verdict.ACCEPTED] * 3  # type: ignore[union-attr]
    state = store_of(engine).index.get("b")
    assert state is not None
    assert (state.status, state.speed, state.last_message_number, state.pending) == (
        "flying",
        10,
        1,
        4,
    )
    assert state.set_aside is not msgspec.UNSET
    assert (state.set_aside.message_number, state.set_aside.plugin) == (2, "BoomPlugin")
    # The set-aside message is waiting: a resend is a duplicate, another payload a conflict.
    (again,) = await engine.process([[boom(2), boom(2, x=1)]])
    assert [o.verdict for o in again] == [Verdict.DUPLICATE, Verdict.CONFLICT]  # type: ignore[union-attr]
    assert len(engine.faults.open) == 1
    assert engine.faults.counts["BoomPlugin", "channel 'b'"] == 3  # tried at each touch


async def test_a_fixed_plugin_resumes_the_channel_at_its_next_touch() -> None:
    store = FlakyStore()
    broken = engine_for(boom_registry(), store)
    await broken.process([[boom(2), launch("b"), speed_up(3, channel="b")]])
    fixed = Engine(boom_registry(FixedBoomPlugin()), store, faults=broken.faults)
    (touch,) = await fixed.process([[speed_up(4, channel="b")]])
    assert [o.verdict for o in touch] == [Verdict.ACCEPTED]  # type: ignore[union-attr]
    state = store.index.get("b")
    assert state is not None
    assert (state.last_message_number, state.pending, state.speed) == (4, 0, 13)
    assert state.set_aside is msgspec.UNSET
    assert [r.message_number for r in store.commits[-1].applied] == [2, 3, 4]
    assert fixed.faults.open == []
    assert fixed.resumed == 1


async def test_resume_tries_a_channel_without_a_message_of_its_own() -> None:
    store = FlakyStore()
    broken = engine_for(boom_registry(), store)
    await broken.process([[boom(1), boom(1, channel="other")]])
    assert await broken.resume(["b", "other"]) == 0  # the same plugin fails the same way
    fixed = Engine(boom_registry(FixedBoomPlugin()), store)
    assert await fixed.resume(["b", "other", "unknown"]) == 2
    for channel in ("b", "other"):
        state = store.index.get(channel)
        assert state is not None
        assert (state.last_message_number, state.pending, state.set_aside) == (1, 0, msgspec.UNSET)
    assert store.index.get("unknown") is None


async def test_a_run_stops_at_its_first_failing_event() -> None:
    engine = engine_for(boom_registry())
    await engine.process([[speed_up(2, channel="b"), boom(3), speed_up(4, channel="b")]])
    (filler,) = await engine.process([[launch("b")]])
    assert [o.verdict for o in filler] == [Verdict.ACCEPTED]  # type: ignore[union-attr]
    store = store_of(engine)
    assert [r.message_number for r in store.commits[-1].applied] == [1, 2]
    state = store.index.get("b")
    assert state is not None
    assert (state.last_message_number, state.speed, state.pending) == (2, 11, 2)
    assert store.sequencer.position("b") == (2, 4, 2)


async def test_a_failed_commit_tells_no_fault() -> None:
    store = FlakyStore()
    engine = engine_for(boom_registry(), store)
    store.fail_next = True
    with pytest.raises(StoreError):
        await engine.process([[boom(1)]])
    assert engine.faults.open == []
    assert store.sequencer.pending_count("b") == 0
    (result,) = await engine.process([[boom(1)]])
    assert [o.verdict for o in result] == [Verdict.SET_ASIDE]  # type: ignore[union-attr]


async def test_the_fold_of_a_store_sets_aside_what_it_cannot_apply() -> None:
    registry = boom_registry()
    engine = engine_for(registry)
    start = initial_state(registry, "b")
    state = engine.fold(start, [launch("b"), boom(2), speed_up(3, channel="b")])
    assert state.last_message_number == 1
    assert state.set_aside is not msgspec.UNSET
    assert state.set_aside.message_number == 2
    assert [f.event for f in engine.faults.open] == ["b#2"]


async def test_numbering_stops_at_the_largest_number(registry: Registry) -> None:
    engine = engine_for(registry)
    await engine.process([[speed_up(MAX_MESSAGE_NUMBER)]])
    (result,) = await engine.process([[speed_up(0)]])
    assert [o.verdict for o in result] == [Verdict.NUMBERS_EXHAUSTED]  # type: ignore[union-attr]


async def test_a_message_set_aside_in_the_group_that_received_it_is_told_so() -> None:
    engine = engine_for(boom_registry())
    (answers,) = await engine.process([[boom(2), launch("b"), speed_up(3, channel="b"), boom(2)]])
    verdicts = [o.verdict for o in answers]  # type: ignore[union-attr]
    assert verdicts == [Verdict.SET_ASIDE, Verdict.ACCEPTED, Verdict.ACCEPTED, Verdict.DUPLICATE]
