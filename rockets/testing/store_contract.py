"""The store contract suite, run against every store backend.

Use it from a pytest module (pytest and anyio's pytest plugin are needed)::

    import pytest
    from rockets.stores import Limits
    from rockets.testing.store_contract import CONTRACT_LIMITS, StoreContract

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store_factory(self, tmp_path):
            # Every call returns a new, unopened store on the same data.
            return lambda: MyStore(tmp_path / "db", CONTRACT_LIMITS)

Every test drives the store the way the server does: through :class:`rockets.runtime.engine.Engine`.
Tests of durability look at ``Store.durable``: a durable store must answer alike after being
reopened, one that is not must come back empty. A store that says it is ``shared`` is also run
with two instances writing the same channels at once, as two server processes would.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from rockets.core.aggregate import apply_records, fold
from rockets.core.sequencer import Verdict
from rockets.errors import StoreError
from rockets.records import Record
from rockets.runtime.engine import Engine, Outcome
from rockets.settings import Settings
from rockets.state import RocketState
from rockets.stores.base import Commit, Store
from rockets.testing.contract_types import ADD, START, STOP, contract_registry
from rockets.wire import RocketQuery

__all__ = ["CONTRACT_LIMITS", "StoreContract", "explode", "launch", "speed_up"]

CONTRACT_LIMITS = msgspec.structs.replace(
    Settings().limits, max_pending_per_channel=4, max_pending_total=1000
)
"""The limits a ``store_factory`` gives its stores."""

REGISTRY = contract_registry()
FOLD = functools.partial(apply_records, REGISTRY)
"""What the server hands ``Store.open``: the fold of the contract's types."""
T0 = datetime(2022, 2, 2, 19, 39, 5, 863370, tzinfo=UTC)

StoreFactory = Callable[[], Store]


def _record(channel: str, number: int, kind: str, payload: object, minute: int = 0) -> Record:
    when = T0 + timedelta(minutes=minute or number)
    return Record(channel, number, kind, when, T0, msgspec.json.encode(payload))


def launch(
    channel: str, number: int = 1, speed: int = 500, kind: str = "Falcon-9", mission: str = "M"
) -> Record:
    """A record that starts a rocket."""
    return _record(channel, number, START, {"kind": kind, "speed": speed, "mission": mission})


def speed_up(channel: str, number: int, by: int = 1) -> Record:
    """A record that adds ``by`` to the speed."""
    return _record(channel, number, ADD, {"by": by})


def explode(channel: str, number: int, reason: str = "boom") -> Record:
    """A record that stops a rocket for good."""
    return _record(channel, number, STOP, {"reason": reason})


async def ingest(engine: Engine, *records: Record) -> list[Verdict]:
    """Process ``records`` as one request; return their verdicts."""
    (result,) = await engine.process([list(records)])
    assert isinstance(result, list), result
    return [outcome.verdict for outcome in result]


async def snapshot(store: Store) -> tuple[list[RocketState], dict[str, list[Record]]]:
    """Everything a reader can see: every rocket and every rocket's events."""
    _, states = await store.rockets(RocketQuery())
    events = {s.channel: await store.events(s.channel, 1, 100_000) for s in states}
    return states, events


def expected_order(states: list[RocketState], sort: str, descending: bool) -> list[str]:
    """The order the API promises: by the field, rockets without it last, ties by channel."""
    attribute = REGISTRY.state.attribute(sort)
    assert attribute is not None

    def key(state: RocketState) -> Any:
        return getattr(state, attribute)

    valued = sorted(
        (s for s in states if key(s) is not None),
        key=lambda s: (key(s), s.channel),
        reverse=descending,
    )
    missing = sorted(
        (s for s in states if key(s) is None), key=lambda s: s.channel, reverse=descending
    )
    return [s.channel for s in valued + missing]


@pytest.mark.anyio
class StoreContract:
    """The contract every store must meet. Subclasses provide ``store_factory``."""

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        raise NotImplementedError("a StoreContract subclass provides the store_factory fixture")

    @asynccontextmanager
    async def opened(self, factory: StoreFactory) -> AsyncIterator[tuple[Store, Engine]]:
        store = factory()
        await store.open(REGISTRY.state, FOLD)
        try:
            yield store, Engine(REGISTRY, store)
        finally:
            await store.close()

    async def test_events_are_kept_in_order_and_folded(self, store_factory: StoreFactory) -> None:
        async with self.opened(store_factory) as (store, engine):
            assert (
                await ingest(engine, launch("a"), speed_up("a", 2, 10), launch("b"))
                == [Verdict.ACCEPTED] * 3
            )
            assert (
                await ingest(engine, speed_up("a", 3, 5), explode("b", 2)) == [Verdict.ACCEPTED] * 2
            )
            events = await store.events("a", 1, 100)
            assert [(e.message_number, e.message_type) for e in events] == [
                (1, START),
                (2, ADD),
                (3, ADD),
            ]
            assert events[1] == speed_up("a", 2, 10)
            assert [e.message_number for e in await store.events("a", 2, 1)] == [2]
            assert await store.events("a", 4, 10) == []
            assert await store.events("nobody", 1, 10) == []
            a = await store.rocket("a")
            assert a is not None
            assert (a.speed, a.last_message_number, a.updated_at) == (
                515,
                3,
                T0 + timedelta(minutes=3),
            )
            assert a == fold(REGISTRY, "a", events)
            b = await store.rocket("b")
            assert b is not None
            assert (b.status, b.reason) == ("stopped", "boom")
            assert await store.rocket("nobody") is None
            assert await store.count() == 2
            await store.ping()

    async def test_pending_messages_wait_for_the_gap(self, store_factory: StoreFactory) -> None:
        async with self.opened(store_factory) as (store, engine):
            await ingest(engine, speed_up("a", 3), speed_up("a", 5))
            waiting = await store.rocket("a")
            assert waiting is not None
            assert (waiting.last_message_number, waiting.pending, waiting.status) == (
                0,
                2,
                "unknown",
            )
            assert await store.events("a", 1, 10) == []
            await ingest(engine, launch("a"), speed_up("a", 2))
            state = await store.rocket("a")
            assert state is not None
            assert (state.last_message_number, state.pending, state.speed) == (3, 1, 502)
            assert [e.message_number for e in await store.events("a", 1, 10)] == [1, 2, 3]
            await ingest(engine, speed_up("a", 4))
            final = await store.rocket("a")
            assert final is not None
            assert (final.last_message_number, final.pending) == (5, 0)

    async def test_duplicates_change_nothing(self, store_factory: StoreFactory) -> None:
        async with self.opened(store_factory) as (store, engine):
            await ingest(engine, launch("a"), speed_up("a", 2), speed_up("a", 4))
            before = await snapshot(store)
            assert (
                await ingest(engine, launch("a"), speed_up("a", 2), speed_up("a", 4))
                == [Verdict.DUPLICATE] * 3
            )
            # The same message written differently is still the same message.
            same = msgspec.structs.replace(launch("a"), received_at=T0 + timedelta(days=1))
            assert await ingest(engine, same) == [Verdict.DUPLICATE]
            assert await snapshot(store) == before

    async def test_conflicts_keep_the_first_message(self, store_factory: StoreFactory) -> None:
        async with self.opened(store_factory) as (store, engine):
            await ingest(engine, launch("a"), speed_up("a", 3, by=7))
            before = await snapshot(store)
            (result,) = await engine.process([[launch("a", speed=1), explode("a", 3)]])
            assert isinstance(result, list)
            assert [o.verdict for o in result] == [Verdict.CONFLICT, Verdict.CONFLICT]
            existing = [o.existing for o in result if isinstance(o, Outcome)]
            assert existing == [launch("a"), speed_up("a", 3, by=7)]
            assert await snapshot(store) == before

    async def test_unnumbered_messages_follow_the_highest(
        self, store_factory: StoreFactory
    ) -> None:
        async with self.opened(store_factory) as (store, engine):
            await ingest(engine, launch("a"), speed_up("a", 4))
            (result,) = await engine.process([[speed_up("a", 0), speed_up("new", 0)]])
            assert isinstance(result, list)
            assert [(o.record.message_number, o.verdict) for o in result] == [
                (5, Verdict.ACCEPTED),
                (1, Verdict.ACCEPTED),
            ]
            state = await store.rocket("a")
            assert state is not None
            assert state.pending == 2

    async def test_pending_bound_refuses_without_dropping(
        self, store_factory: StoreFactory
    ) -> None:
        async with self.opened(store_factory) as (store, engine):
            limit = CONTRACT_LIMITS.max_pending_per_channel
            ahead = [speed_up("a", n) for n in range(3, 3 + limit + 1)]
            verdicts = await ingest(engine, *ahead)
            assert verdicts == [Verdict.ACCEPTED] * limit + [Verdict.CHANNEL_FULL]
            assert await ingest(engine, launch("a"), speed_up("a", 2)) == [Verdict.ACCEPTED] * 2
            state = await store.rocket("a")
            assert state is not None
            assert (state.last_message_number, state.pending) == (2 + limit, 0)

    async def test_the_bound_over_all_channels_refuses_without_dropping(
        self, store_factory: StoreFactory
    ) -> None:
        per_channel = CONTRACT_LIMITS.max_pending_per_channel
        channels = -(-CONTRACT_LIMITS.max_pending_total // per_channel)  # one past the bound
        ahead = [
            speed_up(f"w{c:04d}", n) for c in range(channels) for n in range(3, 3 + per_channel)
        ]
        async with self.opened(store_factory) as (_, engine):
            verdicts = await ingest(engine, *ahead)
            kept = CONTRACT_LIMITS.max_pending_total
            assert verdicts == [Verdict.ACCEPTED] * kept + [Verdict.ALL_FULL] * (len(ahead) - kept)
            # Another group, on another channel, finds the buffers as full.
            assert await ingest(engine, speed_up("late", 3)) == [Verdict.ALL_FULL]
            # A gap that fills makes room again.
            assert (
                await ingest(engine, launch("w0000"), speed_up("w0000", 2))
                == [Verdict.ACCEPTED] * 2
            )
            assert await ingest(engine, speed_up("late", 3)) == [Verdict.ACCEPTED]

    async def test_kept_states_are_the_states_right_after_their_events(
        self, store_factory: StoreFactory
    ) -> None:
        """Whatever a store keeps (snapshots, the current state, nothing), what it answers for
        event ``n`` is a state right after an event at or before ``n``, as the fold makes it
        (its bookkeeping aside)."""
        life = [launch("a"), *(speed_up("a", n, n) for n in range(2, 261))]
        async with self.opened(store_factory) as (store, engine):
            for start in range(0, len(life), 37):  # in groups of several sizes
                await ingest(engine, *life[start : start + 37])
            fresh = REGISTRY.state.initial("a")
            for reopened in (False, True):
                for number in (1, 2, 99, 100, 101, 150, 199, 200, 201, 259, 260, 400):
                    kept = await store.kept_state("a", number)
                    if kept is None:
                        continue
                    at, state = kept
                    assert 1 <= at <= min(number, len(life)), (number, at)
                    wanted = fold(REGISTRY, "a", life[:at])
                    assert state.with_bookkeeping(fresh) == wanted, (number, at)
                assert await store.kept_state("a", 0) is None
                assert await store.kept_state("nobody", 10) is None
                if reopened or not store.durable:
                    break
                await store.close()
                await store.open(REGISTRY.state, FOLD)

    async def test_a_failed_group_writes_nothing(self, store_factory: StoreFactory) -> None:
        async with self.opened(store_factory) as (store, engine):
            await ingest(engine, launch("a"))
            before = await snapshot(store)
            with pytest.raises(RuntimeError, match="midway"):  # noqa: PT012 - the block is the test
                async with store.group(["a", "b"]) as group:
                    for record in (speed_up("a", 2), speed_up("a", 4), launch("b")):
                        group.sequencer.offer(record)
                    group.stage(
                        Commit(
                            received=[speed_up("a", 2), speed_up("a", 4), launch("b")],
                            applied=[speed_up("a", 2), launch("b")],
                            states=[
                                RocketState(channel="a", last_message_number=2, pending=1),
                                RocketState(channel="b", last_message_number=1),
                            ],
                        )
                    )
                    raise RuntimeError("midway")
            assert await snapshot(store) == before
            assert (
                await ingest(engine, speed_up("a", 2), speed_up("a", 4), launch("b"))
                == [Verdict.ACCEPTED] * 3
            )

    async def test_reopening(self, store_factory: StoreFactory) -> None:
        async with self.opened(store_factory) as (store, engine):
            await ingest(engine, launch("a"), speed_up("a", 2), speed_up("a", 5), launch("b"))
            durable = store.durable
            before = await snapshot(store)
        async with self.opened(store_factory) as (store, engine):
            if not durable:
                assert await snapshot(store) == ([], {})
                return
            assert await snapshot(store) == before
            state = await store.rocket("a")
            assert state is not None
            assert state.pending == 1
            # Dedup outlives the restart; so do the pending message and its gap.
            assert (
                await ingest(engine, speed_up("a", 2), speed_up("a", 5)) == [Verdict.DUPLICATE] * 2
            )
            assert await ingest(engine, speed_up("a", 0)) == [Verdict.ACCEPTED]
            assert (
                await ingest(engine, speed_up("a", 3), speed_up("a", 4)) == [Verdict.ACCEPTED] * 2
            )
            final = await store.rocket("a")
            assert final is not None
            assert (final.last_message_number, final.pending) == (6, 0)
            kept = [(r.channel, r.message_number) async for r in store.received()]
            assert sorted(kept) == [("a", n) for n in range(1, 7)] + [("b", 1)]

    async def test_listing_sorts_filters_and_pages(self, store_factory: StoreFactory) -> None:
        rng = random.Random(4)
        async with self.opened(store_factory) as (store, engine):
            for i in range(30):
                channel = f"r{rng.randrange(1000):03d}-{i}"
                kind = rng.choice(["Falcon-9", "Ariane", "Soyuz", "Äther"])
                first = launch(
                    channel, speed=rng.randrange(0, 5), kind=kind, mission=rng.choice("ABC")
                )
                if i % 7 == 0:
                    await ingest(engine, speed_up(channel, 2))  # waits: no type, no launch
                elif i % 5 == 0:
                    await ingest(engine, first, explode(channel, 2))
                else:
                    await ingest(engine, first)
            total, everything = await store.rockets(RocketQuery())
            assert total == 30
            for sort in REGISTRY.state.fields:
                for order in ("asc", "desc"):
                    query = RocketQuery(sort=sort, order=order)
                    _, rows = await store.rockets(query)
                    assert [s.channel for s in rows] == expected_order(
                        everything, sort, order == "desc"
                    ), (sort, order)
            query = RocketQuery(status="going", type="Falcon-9", sort="speed", order="desc")
            total, rows = await store.rockets(query)
            wanted = [s for s in everything if (s.status, s.type) == ("going", "Falcon-9")]
            assert total == len(wanted)
            assert [s.channel for s in rows] == expected_order(wanted, "speed", True)
            paged = msgspec.structs.replace(query, limit=2, offset=1)
            total_paged, page = await store.rockets(paged)
            assert total_paged == len(wanted)
            assert [s.channel for s in page] == [s.channel for s in rows][1:3]
            _, beyond = await store.rockets(msgspec.structs.replace(query, offset=1000))
            assert beyond == []

    async def test_values_no_store_keeps_match_nothing(self, store_factory: StoreFactory) -> None:
        """A NUL character (which PostgreSQL cannot keep) in a channel or a filter, a limit or an
        offset past any 64-bit integer: every store answers as if nothing matched, none fails."""
        nul, huge = "a\x00b", 2**63
        async with self.opened(store_factory) as (store, engine):
            await ingest(engine, launch("a"), speed_up("a", 2), explode("b", 2), launch("b"))
            for channel in (nul, "a\x00", "\x00"):
                assert await store.rocket(channel) is None
                assert await store.events(channel, 1, 10) == []
            for value in (nul, "going\x00"):
                for query in (
                    RocketQuery(status=value),
                    RocketQuery(type=value),
                    RocketQuery(mission=value),
                ):
                    assert await store.rockets(query) == (0, [])
                    paged = msgspec.structs.replace(query, sort="speed", limit=huge)
                    assert await store.rockets(paged) == (0, [])
            assert await store.rockets(RocketQuery(where={"reason": nul})) == (0, [])
            for sort in ("channel", "speed"):
                whole = await store.rockets(RocketQuery(sort=sort))
                assert whole[0] == 2
                for limit in (huge, 2**64, 10**30):
                    assert await store.rockets(RocketQuery(sort=sort, limit=limit)) == whole
                    paged = RocketQuery(sort=sort, limit=limit, offset=1)
                    assert await store.rockets(paged) == (2, whole[1][1:])
                for offset in (huge - 1, huge, 2**64):
                    beyond = RocketQuery(sort=sort, limit=huge, offset=offset)
                    assert await store.rockets(beyond) == (2, [])
                    filtered = RocketQuery(sort=sort, status="going", offset=offset)
                    assert await store.rockets(filtered) == (1, [])
            both = [launch("a"), speed_up("a", 2)]
            assert await store.events("a", 1, huge) == both
            assert await store.events("a", 2, 2**64) == both[1:]
            for start in (huge - 1, huge, 2**64):
                assert await store.events("a", start, 10) == []
                assert await store.events("a", start, huge) == []

    async def test_concurrent_writers(self, store_factory: StoreFactory) -> None:
        """Many groups at once; a shared store also with two instances on the same channels."""
        rng = random.Random(8)
        lives = {
            f"c{i}": [launch(f"c{i}"), *(speed_up(f"c{i}", n, n) for n in range(2, 25))]
            for i in range(12)
        }
        traffic = [r for life in lives.values() for r in life]
        traffic += rng.sample(traffic, len(traffic) // 3)
        rng.shuffle(traffic)
        async with self.opened(store_factory) as (store, engine):
            engines = [engine]
            other = None
            if store.shared:
                other = store_factory()
                await other.open(REGISTRY.state, FOLD)
                engines.append(Engine(REGISTRY, other))
            try:
                if store.shared:
                    # Any channel on any writer, as with several processes.
                    lanes = [[r] for r in traffic]
                    picks = [engines[rng.randrange(len(engines))] for _ in lanes]
                else:
                    # One writer per channel, as the worker pool guarantees within a process.
                    lanes = [[r for r in traffic if int(r.channel[1:]) % 4 == w] for w in range(4)]
                    picks = [engine] * len(lanes)

                refused: list[Record] = []

                async def run(lane: list[Record], writer: Engine) -> None:
                    for record in lane:
                        try:
                            (verdict,) = await ingest(writer, record)
                        except StoreError:
                            # A 503: a group that waited past a bound (a connection, a
                            # channel's lock held by the other writer) kept nothing, and a
                            # client sends it again.
                            refused.append(record)
                            continue
                        if verdict is Verdict.CHANNEL_FULL:
                            refused.append(record)  # a client would retry after a 429
                        else:
                            assert verdict in (Verdict.ACCEPTED, Verdict.DUPLICATE), verdict

                await asyncio.gather(*(run(lane, w) for lane, w in zip(lanes, picks, strict=True)))
                # Sent again in number order, every refused message finds room.
                for record in sorted(refused, key=lambda r: r.message_number):
                    assert await ingest(engine, record) in ([Verdict.ACCEPTED], [Verdict.DUPLICATE])
            finally:
                if other is not None:
                    await other.close()
            for channel, life in lives.items():
                events = await store.events(channel, 1, 100)
                assert events == life
                state = await store.rocket(channel)
                assert state == fold(REGISTRY, channel, life)
