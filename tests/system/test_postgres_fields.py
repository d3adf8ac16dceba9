"""A plugin's state fields on PostgreSQL: sorted and filtered in the database as the standard
fields are, with the in-process rocket index (what memory and SQLite answer) as the oracle; a
value too large for an index; the plans; the exact number of rockets; and a database written by
the version before (schema 2, with a column per standard field) migrated at start."""

from __future__ import annotations

import functools
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

import msgspec
import psycopg
import pytest

from rockets.core.aggregate import apply_records
from rockets.core.registry import EventType, Registry, build_registry
from rockets.core.rocket_index import select
from rockets.records import Record
from rockets.runtime.engine import Engine
from rockets.state import Event, RocketState
from rockets.stores import open_store
from rockets.stores.postgres import PostgresStore
from rockets.testing.store_contract import CONTRACT_LIMITS
from rockets.wire import RocketQuery

pytestmark = pytest.mark.anyio

T0 = datetime(2024, 1, 1, 12, tzinfo=UTC)


class Gauges(RocketState, frozen=True, kw_only=True):
    """One field of every scalar kind (some nullable, one with a default other than None), and
    one the store does not index."""

    fuel: int = 7
    ratio: float | None = None
    armed: bool = False
    callsign: str = ""
    grade: Literal["a", "b", "c"] = "a"
    checked_at: datetime | None = None
    crew: int | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    label: str = "100% 'sure' \\o/"  # what SQL and psycopg read specially, as a default


class GaugesSet(msgspec.Struct, frozen=True, rename="camel"):
    fuel: int
    ratio: float | None
    armed: bool
    callsign: str
    grade: Literal["a", "b", "c"]
    checked_at: datetime | None
    crew: int | None
    tags: list[str]


class Launched(msgspec.Struct, frozen=True, rename="camel"):
    kind: str
    speed: int
    mission: str


def _set(state: RocketState, event: Event[GaugesSet]) -> RocketState:
    m = event.message
    return msgspec.structs.replace(
        state,
        **{name: getattr(m, name) for name in GaugesSet.__struct_fields__},
    )


def _launch(state: RocketState, event: Event[Launched]) -> RocketState:
    m = event.message
    return msgspec.structs.replace(
        state, type=m.kind, speed=m.speed, mission=m.mission, status="going"
    )


LAUNCH = EventType(schema=Launched, apply=_launch)


def registry(gauges: bool = True) -> Registry:
    types: list[tuple[str, object]] = [("launch", [LAUNCH])]
    if not gauges:
        return build_registry(types)
    return build_registry(
        [*types, ("gauges", [EventType(schema=GaugesSet, apply=_set)])], [("gauges", Gauges)]
    )


FIELDS = list(GaugesSet.__struct_fields__)
POOLS: dict[str, list[Any]] = {
    "fuel": [0, 1, 2, 10, -3, 2**63 + 5],
    "ratio": [0.5, -1.25, 1e300, 0.1, 3.0, -0.0, 0.0, None],
    "armed": [True, False],
    # Code point order: "B" < "a" < "Ä" < "€" < "𝄞"; one longer than a sort prefix.
    "callsign": ["", "a", "B", "Ä", "€", "𝄞", "a b", "z" * 300],
    "grade": ["a", "b", "c"],
    # The same instant written in two ways; with and without microseconds; naive times are
    # not mixed with aware ones (Python cannot order them).
    "checked_at": [
        T0,
        T0 + timedelta(microseconds=500_000),
        datetime(2024, 1, 1, 13, tzinfo=timezone(timedelta(hours=1))),
        T0 - timedelta(microseconds=1),
        None,
    ],
    "crew": [0, 3, -2, 2**62, None],
    "tags": [[], ["x"], ["x", "y"], ["a"]],
}


def record(channel: str, number: int, kind: str, payload: object) -> Record:
    return Record(channel, number, kind, T0, T0, msgspec.json.encode(payload))


def gauges(rng: random.Random, channel: str, number: int) -> Record:
    payload = GaugesSet(**{name: rng.choice(POOLS[name]) for name in FIELDS})
    return record(channel, number, "GaugesSet", payload)


def launch(channel: str, rng: random.Random) -> Record:
    mission = rng.choice(["A", "B", "C"])
    payload = {"kind": rng.choice(["F9", "Ariane"]), "speed": rng.randrange(5), "mission": mission}
    return record(channel, 1, "Launched", payload)


@asynccontextmanager
async def opened(url: str, registry: Registry) -> AsyncIterator[tuple[PostgresStore, Engine]]:
    store = open_store(f"{url}?pool_max=4", CONTRACT_LIMITS)
    assert isinstance(store, PostgresStore)
    await store.open(registry.state, functools.partial(apply_records, registry))
    try:
        yield store, Engine(registry, store)
    finally:
        await store.close()


async def ingest(engine: Engine, records: Sequence[Record]) -> None:
    (result,) = await engine.process([list(records)])
    assert isinstance(result, list), result


async def agrees(store: PostgresStore, registry: Registry, query: RocketQuery) -> None:
    """The store answers ``query`` as the in-process rocket index does."""
    _, everything = await store.rockets(RocketQuery())
    total, rows = await store.rockets(query)
    wanted_total, wanted = select(everything, query, registry.state)
    assert (total, [s.channel for s in rows]) == (
        wanted_total,
        [s.channel for s in wanted],
    ), query


async def fill(engine: Engine, count: int, seed: int = 3) -> None:
    rng = random.Random(seed)
    records = []
    for i in range(count):
        channel = f"r{rng.randrange(1000):03d}-{i}"
        if i % 4:
            records.append(launch(channel, rng))
            records.append(gauges(rng, channel, 2))
        elif i % 8:
            records.append(gauges(rng, channel, 1))
        else:
            records.append(gauges(rng, channel, 2))  # waits behind a gap: defaults only
    await ingest(engine, records)


async def test_every_field_sorts_and_filters_as_in_memory(postgres_url: str) -> None:
    app = registry()
    async with opened(postgres_url, app) as (store, engine):
        await fill(engine, 80)
        _, everything = await store.rockets(RocketQuery())
        assert len(everything) == 80
        for sort in app.state.fields:
            # Every field but the list is read in the database, none in Python.
            assert (store._listing(RocketQuery(sort=sort)) is None) == (sort == "tags")
            for order in ("asc", "desc"):
                for limit, offset in ((None, 0), (7, 0), (7, 5), (7, 75), (None, 90)):
                    query = RocketQuery(sort=sort, order=order, limit=limit, offset=offset)
                    await agrees(store, app, query)
        json_names = {f.name: f.json_name for f in app.state.fields.values()}
        for name in FIELDS:
            json_name = json_names[name]
            for value in {msgspec.json.encode(v): v for v in POOLS[name]}.values():
                if value is None or isinstance(value, list):
                    continue
                await agrees(store, app, RocketQuery(where={json_name: value}))
                paged = RocketQuery(
                    where={json_name: value}, sort="fuel", order="desc", limit=3, offset=1
                )
                await agrees(store, app, paged)
        await agrees(store, app, RocketQuery(where={"tags": ["x"]}, sort="callsign"))
        label = Gauges(channel="-").label
        await agrees(store, app, RocketQuery(where={"label": label}, sort="label", order="desc"))
        assert (await store.rockets(RocketQuery(where={"label": label})))[0] == 80
        await agrees(store, app, RocketQuery(mission="A", where={"armed": True}, sort="ratio"))
        await agrees(store, app, RocketQuery(status="going", sort="checkedAt", order="desc"))


async def test_rockets_written_before_a_plugin_read_its_defaults(postgres_url: str) -> None:
    rng = random.Random(5)
    async with opened(postgres_url, registry(gauges=False)) as (_, engine):
        await ingest(engine, [launch(f"old{i}", rng) for i in range(6)])
    app = registry()
    async with opened(postgres_url, app) as (store, engine):
        await ingest(engine, [gauges(rng, f"new{i}", 1) for i in range(6)])
        for sort in ("fuel", "ratio", "callsign", "checkedAt", "crew", "grade", "armed"):
            for order in ("asc", "desc"):
                await agrees(store, app, RocketQuery(sort=sort, order=order))
        await agrees(store, app, RocketQuery(where={"fuel": 7}))
        await agrees(store, app, RocketQuery(where={"grade": "a"}))
        await agrees(store, app, RocketQuery(where={"armed": False}, sort="speed"))


async def test_a_value_too_large_for_an_index_is_kept_and_found(postgres_url: str) -> None:
    app = registry()
    rng = random.Random(1)
    huge = "é" * 20_000  # 40 kB of UTF-8, far past a btree entry's 2.7 kB
    async with opened(postgres_url, app) as (store, engine):
        records = []
        for i, suffix in enumerate(["1", "2", ""]):
            payload = msgspec.structs.replace(
                msgspec.json.decode(gauges(rng, f"big{i}", 1).payload, type=GaugesSet),
                callsign=huge + suffix,
            )
            records.append(record(f"big{i}", 1, "GaugesSet", payload))
        await ingest(engine, [*records, gauges(rng, "small", 1)])
        state = await store.rocket("big0")
        assert state is not None
        assert getattr(state, "callsign") == huge + "1"  # noqa: B009 - the app's own type
        for suffix in ("1", "2", ""):
            total, rows = await store.rockets(RocketQuery(where={"callsign": huge + suffix}))
            assert total == 1
            assert getattr(rows[0], "callsign") == huge + suffix  # noqa: B009
        assert (await store.rockets(RocketQuery(where={"callsign": huge + "3"})))[0] == 0
        total, rows = await store.rockets(RocketQuery(sort="callsign", order="desc"))
        assert total == 4
        # Values alike in their first 256 characters sort by channel.
        alike = [s.channel for s in rows if s.channel.startswith("big")]
        assert alike == ["big2", "big1", "big0"]


async def test_listings_read_the_index_of_the_field(postgres_url: str) -> None:
    app = registry()
    async with opened(postgres_url, app) as (store, engine):
        await fill(engine, 2000)
        async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as conn:
            await conn.execute("ANALYZE rocket_channels")
            # Another plan the planner might prefer at this size shows as a Sort or a Seq Scan
            # when the index cannot serve the query; with these off, only then.
            await conn.execute("SET enable_seqscan = off")
            await conn.execute("SET enable_sort = off")
            queries = [
                RocketQuery(sort=sort, order=order, limit=100)
                for sort in ("fuel", "speed", "callsign", "ratio", "checkedAt")
                for order in ("asc", "desc")
            ]
            queries += [
                RocketQuery(where={"fuel": 2}, limit=100),
                RocketQuery(where={"callsign": "a"}, limit=100),
                RocketQuery(mission="A", limit=100),
            ]
            for query in queries:
                listing = store._listing(query)
                assert listing is not None
                if listing.field is None:  # filtered: the count reads the field's index
                    statement, params = listing.count_statement()
                else:
                    nullable = listing.descending and listing.field.nullable
                    statement, params = listing.statement(100, 0, "apart" if nullable else None)
                explained = await conn.execute(f"EXPLAIN {statement}", params)
                plan = "\n".join(row[0] for row in await explained.fetchall())
                assert "rocket_state_" in plan, (query, plan)
                assert "Sort" not in plan, (query, plan)


async def test_the_number_of_rockets_is_kept_exact(postgres_url: str) -> None:
    app = registry()
    rng = random.Random(9)
    async with opened(postgres_url, app) as (first, one), opened(postgres_url, app) as (_, two):
        # Two stores (as two processes) create the same rockets at once; some only wait.
        for round_ in range(5):
            batch = [f"c{rng.randrange(40)}" for _ in range(30)]
            jobs = []
            for engine in (one, two):
                records = [gauges(rng, channel, rng.choice([1, 1, 3])) for channel in batch]
                jobs.append(engine.process([[r] for r in records]))
            for results in [await job for job in jobs]:
                assert all(isinstance(r, list) for r in results), round_
        async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
            counted = await conn.execute(
                "SELECT count(*) FROM rocket_channels WHERE state IS NOT NULL"
            )
            (rockets,) = await counted.fetchone() or (None,)
        assert await first.count() == rockets
        assert (await first.rockets(RocketQuery(limit=1)))[0] == rockets


# Version 2's tables, as the previous release made them (schema_version 2).
VERSION_2 = """
CREATE TABLE rockets_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE rocket_messages (
    channel text COLLATE "C" NOT NULL, number bigint NOT NULL, type text NOT NULL,
    message_time text NOT NULL, received_at text NOT NULL, payload bytea NOT NULL,
    version integer NOT NULL DEFAULT 1, position bigint, state bytea,
    PRIMARY KEY (channel, number)
);
CREATE UNIQUE INDEX rocket_messages_by_position ON rocket_messages (position);
CREATE TABLE rocket_log (id boolean PRIMARY KEY DEFAULT true CHECK (id), last bigint NOT NULL);
CREATE TABLE rocket_projections (
    name text PRIMARY KEY, version integer NOT NULL, position bigint NOT NULL,
    value bytea NOT NULL
);
CREATE TABLE rocket_channels (
    channel text COLLATE "C" PRIMARY KEY, applied bigint NOT NULL DEFAULT 0,
    highest bigint NOT NULL DEFAULT 0, pending integer NOT NULL DEFAULT 0, state bytea,
    type text COLLATE "C", mission text COLLATE "C", speed numeric, status text COLLATE "C",
    launched_at timestamptz, updated_at timestamptz
);
INSERT INTO rockets_meta VALUES ('schema_version', '2');
"""


async def test_a_version_2_database_is_migrated_at_start(postgres_url: str) -> None:
    app = registry(gauges=False)
    states = [
        RocketState(
            channel=f"v2-{i}",
            type="F9",
            mission="ABC"[i % 3],
            speed=(i * 37) % 11,
            status="going",
            launched_at=T0,
            updated_at=T0,
            last_message_number=1,
        )
        for i in range(12)
    ]
    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as conn:
        await conn.execute(VERSION_2)
        for position, state in enumerate(states, start=1):
            launched = {"kind": "F9", "speed": state.speed, "mission": state.mission}
            encoded = msgspec.json.encode(state)
            await conn.execute(
                "INSERT INTO rocket_messages VALUES (%s, 1, 'Launched', %s, %s, %s, 1, %s, %s)",
                (
                    state.channel,
                    T0.isoformat(),
                    T0.isoformat(),
                    msgspec.json.encode(launched),
                    position,
                    encoded,
                ),
            )
            await conn.execute(
                "INSERT INTO rocket_channels VALUES (%s, 1, 1, 0, %s, 'F9', %s, %s, 'going', "
                "%s, %s)",
                (state.channel, encoded, state.mission, state.speed, T0, T0),
            )
        await conn.execute("INSERT INTO rocket_log VALUES (true, %s)", (len(states),))
    for _ in range(2):  # and a second start finds nothing left to do
        async with opened(postgres_url, app) as (store, engine):
            assert await store.count() == len(states)
            await agrees(store, app, RocketQuery(sort="speed", order="desc", limit=5))
            await agrees(store, app, RocketQuery(mission="B", sort="speed"))
            assert await store.rocket("v2-3") == states[3]
            assert [e.message_number for e in await store.events("v2-3", 1, 10)] == [1]
        async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
            cursor = await conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'rocket_channels' ORDER BY column_name"
            )
            columns = [name for (name,) in await cursor.fetchall()]
            cursor = await conn.execute("SELECT value FROM rockets_meta")
            (version,) = await cursor.fetchone() or (None,)
        assert columns == [
            "applied",
            "channel",
            "fields",
            "held",
            "highest",
            "pending",
            "snapshot",
            "stamp",
            "state",
            "state_at",
            "unsnapped",
            "waiting_since",
        ]
        assert version == "4"
    async with opened(postgres_url, app) as (store, engine):
        rng = random.Random(2)
        await ingest(engine, [launch("after", rng)])
        assert await store.count() == len(states) + 1
        await agrees(store, app, RocketQuery(sort="speed"))
