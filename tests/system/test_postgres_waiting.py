"""Messages waiting behind gaps on PostgreSQL (issue 22, finding 5): aged on the database's
clock, listed in pages, counted without reading every gap (``rocket_gaps``, which stays equal
to a count of the gaps whatever writes at once), and bounded over all channels across
processes (messages and bytes), as the other stores bound them in one process."""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import msgspec
import psycopg
import pytest

from rockets.core.aggregate import apply_records
from rockets.core.registry import EventType, Registry, build_registry
from rockets.core.sequencer import Verdict
from rockets.records import Record
from rockets.runtime.engine import Engine
from rockets.settings import Limits
from rockets.state import Event, RocketState
from rockets.stores import open_store
from rockets.stores.base import Store
from rockets.testing.contract_types import ADD, START, contract_registry
from rockets.testing.store_contract import CONTRACT_LIMITS

pytestmark = pytest.mark.anyio

T0 = datetime(2022, 2, 2, 19, 39, 5, tzinfo=UTC)
"""When the messages say they were received: years before the database's clock."""


class Fragile(msgspec.Struct, frozen=True):
    ok: bool


def _fragile(state: RocketState, event: Event[Fragile]) -> RocketState:
    if not event.message.ok:
        raise ValueError("not ok")
    return state


def registry() -> Registry:
    types = [t.event_type for t in contract_registry().values()]
    types.append(EventType(schema=Fragile, apply=_fragile))
    return build_registry([("waiting", types)])


def record(channel: str, number: int, kind: str, payload: object) -> Record:
    return Record(channel, number, kind, T0, T0, msgspec.json.encode(payload))


def start(channel: str) -> Record:
    return record(channel, 1, START, {"kind": "F9", "speed": 1, "mission": "M"})


def add(channel: str, number: int) -> Record:
    return record(channel, number, ADD, {"by": 1})


@asynccontextmanager
async def opened(url: str, limits: Limits = CONTRACT_LIMITS) -> AsyncIterator[tuple[Store, Engine]]:
    app = registry()
    store = open_store(f"{url}?pool_max=4", limits)
    await store.open(app.state, functools.partial(apply_records, app))
    try:
        yield store, Engine(app, store)
    finally:
        await store.close()


async def ingest(engine: Engine, *records: Record) -> list[Verdict]:
    (result,) = await engine.process([list(records)])
    assert isinstance(result, list), result
    return [outcome.verdict for outcome in result]


def listed(page: list[Any]) -> list[str]:
    return [waiting.state.channel for waiting in page]


async def counted_alike(url: str, store: Store) -> None:
    """The gap counters agree with a count of the gaps, at every width, and keep no row of
    zeros."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cursor = await conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE held), coalesce(sum(pending), 0) "
            "FROM rocket_channels WHERE pending > 0"
        )
        channels, held, messages = await cursor.fetchone() or (0, 0, 0)
        cursor = await conn.execute(
            "SELECT coalesce(sum(length(m.payload)), 0) FROM rocket_messages m "
            "JOIN rocket_channels c USING (channel) WHERE m.number > c.applied"
        )
        (size,) = await cursor.fetchone() or (0,)
        cursor = await conn.execute(
            "SELECT width, sum(channels), sum(held) FROM rocket_gaps GROUP BY width"
        )
        for width, summed, summed_held in await cursor.fetchall():
            assert (width, summed, summed_held) == (width, channels, held)
        cursor = await conn.execute(
            "SELECT coalesce(sum(messages), 0), coalesce(sum(bytes), 0) FROM rocket_gaps "
            "WHERE width = 86400"
        )
        assert await cursor.fetchone() == (messages, size)
        cursor = await conn.execute(
            "SELECT count(*) FROM rocket_gaps "
            "WHERE channels = 0 AND held = 0 AND messages = 0 AND bytes = 0"
        )
        assert await cursor.fetchone() == (0,)
    backlog = await store.backlog(0)
    assert (backlog.channels, backlog.messages, backlog.stalled) == (channels, messages, channels)


async def test_gaps_age_on_the_database_clock_and_are_listed_in_pages(postgres_url: str) -> None:
    async with opened(postgres_url) as (store, engine):
        # Each gap opens in a group of its own; the messages say they were received years ago.
        gaps = [f"g{i:02d}" for i in range(12)]
        for channel in gaps:
            assert await ingest(engine, add(channel, 3)) == [Verdict.ACCEPTED]
        # And one waits at a message set aside, with one behind it.
        aside = [start("h"), record("h", 2, "Fragile", {"ok": False}), add("h", 3)]
        assert await ingest(engine, *aside) == [
            Verdict.ACCEPTED,
            Verdict.SET_ASIDE,
            Verdict.ACCEPTED,
        ]
        total, page = await store.stalled(0)
        assert (total, listed(page)) == (13, [*gaps, "h"])
        # Waits are the database's: seconds, not the years the messages' own times say.
        assert all(0 <= waiting.seconds < 600 for waiting in page)
        assert page[0].state.waiting_since == T0
        total, page = await store.stalled(3600)
        assert (total, listed(page)) == (1, ["h"])
        total, page = await store.stalled(float("inf"))
        assert (total, listed(page)) == (1, ["h"])
        total, page = await store.stalled(0, limit=5, offset=4)
        assert (total, listed(page)) == (13, gaps[4:9])
        total, page = await store.stalled(0, limit=5, offset=11)
        assert (total, listed(page)) == (13, [gaps[11], "h"])
        assert await store.stalled(0, limit=0) == (13, [])
        assert (await store.stalled(0, offset=50))[1] == []
        backlog = await store.backlog(3600)
        assert (backlog.channels, backlog.messages, backlog.stalled) == (13, 14, 0)
        assert 0 <= backlog.oldest_seconds < 600
        await counted_alike(postgres_url, store)
        for channel in gaps[:6]:
            assert await ingest(engine, start(channel), add(channel, 2)) == [Verdict.ACCEPTED] * 2
        total, page = await store.stalled(0)
        assert (total, listed(page)) == (7, [*gaps[6:], "h"])
        await counted_alike(postgres_url, store)
        for channel in gaps[6:]:
            assert await ingest(engine, start(channel), add(channel, 2)) == [Verdict.ACCEPTED] * 2
        await counted_alike(postgres_url, store)
        backlog = await store.backlog(0)
        assert (backlog.channels, backlog.messages) == (1, 2)


async def test_the_counters_stay_exact_whatever_writes_at_once(postgres_url: str) -> None:
    """Two stores (as two processes) open and close gaps on the same channels at once."""
    rng = random.Random(5)
    lives = {
        f"c{i:02d}": [start(f"c{i:02d}"), *(add(f"c{i:02d}", n) for n in range(2, 12))]
        for i in range(24)
    }
    traffic = [r for life in lives.values() for r in life]
    rng.shuffle(traffic)
    roomy = msgspec.structs.replace(CONTRACT_LIMITS, max_pending_per_channel=100)
    async with (
        opened(postgres_url, roomy) as (one, first),
        opened(postgres_url, roomy) as (
            _,
            second,
        ),
    ):
        lanes = [traffic[i::6] for i in range(6)]

        async def run(lane: list[Record], engine: Engine) -> None:
            for message in lane:
                (verdict,) = await ingest(engine, message)
                assert verdict is Verdict.ACCEPTED

        halfway = [lane[: len(lane) // 2] for lane in lanes]
        engines = [first, second] * 3
        await asyncio.gather(*(run(lane, e) for lane, e in zip(halfway, engines, strict=True)))
        await counted_alike(postgres_url, one)
        rest = [lane[len(lane) // 2 :] for lane in lanes]
        await asyncio.gather(*(run(lane, e) for lane, e in zip(rest, engines, strict=True)))
        await counted_alike(postgres_url, one)
        assert await one.stalled(0) == (0, [])
        async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
            cursor = await conn.execute("SELECT count(*) FROM rocket_gaps")
            assert await cursor.fetchone() == (0,)


async def test_the_bounds_over_all_channels_hold_across_processes(postgres_url: str) -> None:
    limits = msgspec.structs.replace(
        CONTRACT_LIMITS, max_pending_per_channel=100, max_pending_total=30
    )
    async with opened(postgres_url, limits) as (_, one), opened(postgres_url, limits) as (_, two):
        assert await ingest(one, *(add(f"a{i}", 3) for i in range(20))) == [Verdict.ACCEPTED] * 20
        # A process checks the bound against what waits as it counted it at most a second
        # before, and its own since: the other's first group counts all 20, and 10 more fit.
        verdicts = await ingest(two, *(add(f"b{i}", 3) for i in range(20)))
        assert verdicts == [Verdict.ACCEPTED] * 10 + [Verdict.ALL_FULL] * 10
        assert await ingest(two, add("a0", 4)) == [Verdict.ALL_FULL]
        assert await ingest(one, start("a0"), add("a0", 2)) == [Verdict.ACCEPTED] * 2
        assert await ingest(one, add("a0", 5)) == [Verdict.ACCEPTED]
    size = len(add("x", 3).payload)
    limits = msgspec.structs.replace(
        CONTRACT_LIMITS, max_pending_per_channel=100, max_pending_bytes=10 * size
    )
    async with opened(postgres_url, limits) as (store, one):
        # 30 messages wait already (above): every byte of the bound is taken.
        assert await ingest(one, add("c", 3)) == [Verdict.BYTES_FULL]
        for channel in [f"a{i}" for i in range(1, 20)] + [f"b{i}" for i in range(10)]:
            await ingest(one, start(channel), add(channel, 2))
        backlog = await store.backlog(0)
        assert (backlog.channels, backlog.messages) == (1, 1)  # a0's 5
        await counted_alike(postgres_url, store)
    async with opened(postgres_url, limits) as (_, three):
        verdicts = await ingest(three, *(add(f"d{i}", 3) for i in range(10)))
        assert verdicts == [Verdict.ACCEPTED] * 9 + [Verdict.BYTES_FULL]
