from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from rockets.app import load_plugins
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


BOOM_PLUGIN = """
import msgspec
from rockets import EventType, hookimpl

class Boom(msgspec.Struct):
    x: int

def apply(state, event):
    return msgspec.structs.replace(state, speed=state.speed // (event.message.x - 13))

@hookimpl
def register_event_types():
    return [EventType(name="Boom", schema=Boom, apply=apply)]
"""


async def test_a_plugin_failure_fails_its_own_request_only(tmp_path: Path) -> None:
    (tmp_path / "boom.py").write_text(BOOM_PLUGIN)
    registry = load_plugins(Settings(plugins_dir=str(tmp_path))).registry()
    engine = engine_for(registry)
    boom = Record("b", 1, "Boom", T, T, b'{"x":13}')
    results = await engine.process([[launch("a")], [boom], [speed_up(2, channel="a")]])
    assert isinstance(results[1], ZeroDivisionError)
    assert [o.verdict for o in results[0]] == [Verdict.ACCEPTED]  # type: ignore[union-attr]
    assert [o.verdict for o in results[2]] == [Verdict.ACCEPTED]  # type: ignore[union-attr]
    state = store_of(engine).index.get("a")
    assert state is not None
    assert state.last_message_number == 2
    assert store_of(engine).index.get("b") is None
    assert store_of(engine).sequencer.applied("b") == 0


async def test_numbering_stops_at_the_largest_number(registry: Registry) -> None:
    engine = engine_for(registry)
    await engine.process([[speed_up(MAX_MESSAGE_NUMBER)]])
    (result,) = await engine.process([[speed_up(0)]])
    assert [o.verdict for o in result] == [Verdict.NUMBERS_EXHAUSTED]  # type: ignore[union-attr]
