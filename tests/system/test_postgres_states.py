"""States on PostgreSQL (issue 22, finding 4): kept once per rocket, with snapshots every so
often, not once per event; a large state written only every so many events, the events since
folded by whoever reads it; replays (``?at=``, ``/history``) and the follower (the stream, the
projections) given the state right after every event, by any process, after a restart, after
a rebuild; and a database of the version before (schema 3) migrated at start."""

from __future__ import annotations

import functools
import random
import string
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import psycopg
import pytest
from litestar.testing import TestClient

from rockets import hookimpl
from rockets.app import create_app
from rockets.core.aggregate import apply_records, fold
from rockets.core.registry import EventType, Registry, build_registry
from rockets.core.sequencer import Verdict
from rockets.records import Applied, Record
from rockets.runtime.engine import Engine
from rockets.runtime.maintenance import rebuild_states
from rockets.state import Event, RocketState
from rockets.stores import open_store
from rockets.stores.base import Store
from rockets.stores.fields import TEXT_PREFIX
from rockets.stores.postgres_states import LARGE_STATE
from rockets.testing.contract_types import ADD, START, contract_registry
from rockets.testing.store_contract import CONTRACT_LIMITS
from rockets.wire import RocketQuery

from ..conftest import core_settings, message
from .test_postgres_waiting import counted_alike

T0 = datetime(2024, 1, 1, 12, tzinfo=UTC)


class NotesState(RocketState, frozen=True, kw_only=True):
    notes: str = ""


class NoteAppended(msgspec.Struct, frozen=True):
    text: str


def _append(state: RocketState, event: Event[NoteAppended]) -> RocketState:
    notes = getattr(state, "notes", "")
    return msgspec.structs.replace(state, notes=notes + event.message.text)


def _shout(state: RocketState, event: Event[NoteAppended]) -> RocketState:
    notes = getattr(state, "notes", "")
    return msgspec.structs.replace(state, notes=notes + event.message.text.upper())


class Notes:
    """A state field that grows with every event, without a bound."""

    @hookimpl
    def register_event_types(self) -> list[EventType[Any]]:
        return [EventType(schema=NoteAppended, apply=_append)]

    @hookimpl
    def extend_rocket_state(self) -> type[RocketState]:
        return NotesState


def registry(apply: Any = _append) -> Registry:
    types = [t.event_type for t in contract_registry().values()]
    types.append(EventType(schema=NoteAppended, apply=apply))
    return build_registry([("notes", types)], [("notes", NotesState)])


def texts(count: int, size: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(string.ascii_letters, k=size)) for _ in range(count)]


def note(channel: str, number: int, text: str) -> Record:
    return Record(channel, number, "NoteAppended", T0, T0, msgspec.json.encode({"text": text}))


@asynccontextmanager
async def opened(url: str, app: Registry) -> AsyncIterator[tuple[Store, Engine]]:
    store = open_store(f"{url}?pool_max=4", CONTRACT_LIMITS)
    await store.open(app.state, functools.partial(apply_records, app))
    try:
        yield store, Engine(app, store)
    finally:
        await store.close()


async def ingest(engine: Engine, *records: Record) -> None:
    (result,) = await engine.process([list(records)])
    assert isinstance(result, list), result
    assert {o.verdict for o in result} == {Verdict.ACCEPTED}, result


async def followed(store: Store, after: int, until: int) -> list[Applied]:
    """What ``store``'s follower hands on after position ``after``, up to ``until``."""
    heard: list[Applied] = []
    batches = store.follow(after)
    try:
        async for batch in batches:
            heard += batch
            if batch[-1].position >= until:
                return heard
    finally:
        await batches.aclose()
    return heard


def agrees(app: Registry, heard: Sequence[Applied], lives: dict[str, list[Record]]) -> None:
    """Every event heard goes with the state right after it (its bookkeeping aside)."""
    for applied in heard:
        record = applied.record
        channel = record.channel
        wanted = fold(app, channel, lives[channel][: record.message_number])
        fresh = app.state.initial(channel)
        assert applied.state.with_bookkeeping(fresh) == wanted, (channel, record.message_number)


def test_a_growing_state_is_kept_once_and_replayed_from_the_nearest_kept_one(
    postgres_url: str,
) -> None:
    parts = texts(240, 1500)
    with TestClient(create_app(core_settings(store=postgres_url), plugins=[Notes()])) as client:
        launched = {"type": "F9", "launchSpeed": 1, "mission": "M"}
        assert client.post("/messages", json=message("g", 1, "RocketLaunched", launched))
        for number, text in enumerate(parts, start=2):
            answer = client.post(
                "/messages", json=message("g", number, "NoteAppended", {"text": text})
            )
            assert answer.json()["status"] == "accepted", answer.text
        last = len(parts) + 1
        assert client.get("/rockets/g").json()["notes"] == "".join(parts)
        for number in (1, 2, 10, 11, 99, 100, 101, 102, 150, 200, 202, 240, last):
            state = client.get(f"/rockets/g?at={number}").json()
            assert state["lastMessageNumber"] == number
            assert state["notes"] == "".join(parts[: number - 1]), number
        points = client.get("/rockets/g/history?from=95&limit=20").json()
        assert [p["messageNumber"] for p in points] == list(range(95, 115))
        assert all(p["state"]["notes"] == "".join(parts[: p["messageNumber"] - 1]) for p in points)
        (listed,) = client.get("/rockets?type=F9").json()
        assert listed["notes"] == "".join(parts)
    with psycopg.connect(postgres_url) as conn:
        columns = conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'rocket_messages'"
        ).fetchall()
        assert ("state",) not in columns
        (payloads,) = conn.execute(
            "SELECT sum(octet_length(payload)) FROM rocket_messages"
        ).fetchone() or (0,)
        (states,) = conn.execute(
            "SELECT (SELECT sum(octet_length(state)) FROM rocket_snapshots) "
            "+ (SELECT sum(octet_length(state)) FROM rocket_channels)"
        ).fetchone() or (0,)
    # A state per event would have kept 240 x 180 kB: 43 MB.
    assert states <= 3 * payloads, (states, payloads)


@pytest.mark.anyio
async def test_every_process_reads_and_follows_the_state_right_after_each_event(
    postgres_url: str,
) -> None:
    app = registry()
    parts = texts(150, 1000)
    lives = {
        "g": [note("g", n, text) for n, text in enumerate(parts, start=1)],
        "s": [
            Record("s", 1, START, T0, T0, b'{"kind":"F9","speed":1,"mission":"M"}'),
            *(Record("s", n, ADD, T0, T0, b'{"by":2}') for n in range(2, 151)),
        ],
    }
    rng = random.Random(3)
    async with (
        opened(postgres_url, app) as (one, first),
        opened(postgres_url, app) as (two, second),
    ):
        # Two processes write the same rockets in turn, groups of 1 to 4 events each.
        for life in lives.values():
            at = 0
            while at < len(life):
                size = rng.randint(1, 4)
                await ingest(rng.choice([first, second]), *life[at : at + size])
                at += size
        for store in (one, two):
            for channel, life in lives.items():
                assert await store.rocket(channel) == fold(app, channel, life)
            (listed,) = (await store.rockets(RocketQuery(where={"notes": "".join(parts)})))[1]
            assert listed.channel == "g"
            assert (await store.rockets(RocketQuery(where={"notes": parts[0][:TEXT_PREFIX]})))[
                0
            ] == 0
        last = await one.position()
        agrees(app, await followed(one, 0, last), lives)
    async with opened(postgres_url, app) as (cold, _):
        # A process that wrote nothing: from the first event, and from the middle.
        agrees(app, await followed(cold, 0, last), lives)
        agrees(app, await followed(cold, last // 2 + 7, last), lives)
        large = await cold.rocket("g")
        assert large is not None
        assert len(msgspec.json.encode(large)) > LARGE_STATE


@pytest.mark.anyio
async def test_a_rebuild_leaves_no_snapshot_folded_otherwise(postgres_url: str) -> None:
    before, after = registry(), registry(_shout)
    life = [note("r", n, "ab") for n in range(1, 251)]
    async with opened(postgres_url, before) as (store, engine):
        for start in range(0, len(life), 10):
            await ingest(engine, *life[start : start + 10])
        kept = await store.kept_state("r", 220)
        assert kept is not None
        assert kept[0] >= 100  # a snapshot, made by the plugins before
    async with opened(postgres_url, after) as (store, engine):
        report = await rebuild_states(store, after)
        assert report.changed == 1
        for number in (99, 150, 220, 250):
            kept = await store.kept_state("r", number)
            if kept is not None:
                fresh = after.state.initial("r")
                assert kept[1].with_bookkeeping(fresh) == fold(after, "r", life[: kept[0]])


# Version 3's tables, as the previous release made them (schema_version 3).
VERSION_3 = """
CREATE TABLE rockets_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE rocket_messages (
    channel text COLLATE "C" NOT NULL, number bigint NOT NULL, type text NOT NULL,
    message_time text NOT NULL, received_at text NOT NULL, payload bytea NOT NULL,
    version integer NOT NULL DEFAULT 1, position bigint, state bytea,
    PRIMARY KEY (channel, number)
);
CREATE UNIQUE INDEX rocket_messages_by_position ON rocket_messages (position);
CREATE TABLE rocket_log (
    id boolean PRIMARY KEY DEFAULT true CHECK (id), last bigint NOT NULL, rockets bigint
);
CREATE TABLE rocket_projections (
    name text PRIMARY KEY, version integer NOT NULL, position bigint NOT NULL,
    value bytea NOT NULL
);
CREATE TABLE rocket_channels (
    channel text COLLATE "C" PRIMARY KEY, applied bigint NOT NULL DEFAULT 0,
    highest bigint NOT NULL DEFAULT 0, pending integer NOT NULL DEFAULT 0, state bytea,
    fields jsonb NOT NULL DEFAULT '{}'
);
INSERT INTO rockets_meta VALUES ('schema_version', '3');
"""


@pytest.mark.anyio
async def test_a_version_3_database_is_migrated_at_start(postgres_url: str) -> None:
    app = registry()
    now = datetime.now(UTC)
    long_notes = "x" * 150 + "y" * 250
    applied = {
        "r": [
            Record("r", 1, START, T0, T0, b'{"kind":"F9","speed":1,"mission":"M"}'),
            Record("r", 2, ADD, T0, T0, b'{"by":2}'),
            Record("r", 3, ADD, T0, T0, b'{"by":3}'),
        ],
        "n": [note("n", 1, long_notes)],
        "h": [Record("h", 1, START, T0, T0, b'{"kind":"F9","speed":1,"mission":"M"}')],
    }
    # Waiting behind a gap, received (by the writers' clocks) that long ago.
    ages = {"g-10s": 10, "g-90s": 90, "g-2h": 7200, "g-3d": 3 * 86400, "h": 5}
    waiting = {
        channel: Record(channel, 2, ADD, T0, now - timedelta(seconds=age), b'{"by":1}')
        for channel, age in ages.items()
    }
    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as conn:
        await conn.execute(VERSION_3)
        position = 0
        for channel, life in applied.items():
            for record in life:
                position += 1
                state = fold(app, channel, life[: record.message_number])
                await conn.execute(
                    "INSERT INTO rocket_messages VALUES (%s, %s, %s, %s, %s, %s, 1, %s, %s)",
                    (
                        channel,
                        record.message_number,
                        record.message_type,
                        record.message_time.isoformat(),
                        record.received_at.isoformat(),
                        record.payload,
                        position,
                        msgspec.json.encode(state),
                    ),
                )
        for channel, record in waiting.items():
            await conn.execute(
                "INSERT INTO rocket_messages VALUES (%s, 2, %s, %s, %s, %s, 1, NULL, NULL)",
                (
                    channel,
                    record.message_type,
                    record.message_time.isoformat(),
                    record.received_at.isoformat(),
                    record.payload,
                ),
            )
        for channel in [*applied, *(c for c in waiting if c not in applied)]:
            life = applied.get(channel, [])
            pending = 1 if channel in waiting else 0
            state = fold(app, channel, life).with_backlog(
                pending, waiting[channel].received_at if pending else None
            )
            # (Version 3 kept every field whole in the document; this one, none: both read.)
            await conn.execute(
                "INSERT INTO rocket_channels VALUES (%s, %s, 2, %s, %s, %s)",
                (
                    channel,
                    len(life),
                    pending,
                    msgspec.json.encode(state),
                    msgspec.json.encode({"notes": state.notes}).decode(),
                ),
            )
        await conn.execute("INSERT INTO rocket_log VALUES (true, %s, %s)", (position, 8))
    for _ in range(2):  # and a second start finds nothing left to do
        async with opened(postgres_url, app) as (store, engine):
            for channel, life in applied.items():
                assert await store.rocket(channel) == fold(app, channel, life).with_backlog(
                    1 if channel in waiting else 0,
                    waiting[channel].received_at if channel in waiting else None,
                )
            query = RocketQuery(where={"notes": long_notes})
            assert [s.channel for s in (await store.rockets(query))[1]] == ["n"]
            query = RocketQuery(where={"notes": long_notes[:TEXT_PREFIX]})
            assert await store.rockets(query) == (0, [])
            total, page = await store.stalled(60)
            # (h waits at a message set aside: listed however short its wait.)
            assert (total, [w.state.channel for w in page]) == (4, ["g-3d", "g-2h", "g-90s", "h"])
            total, page = await store.stalled(0)
            assert (total, [w.state.channel for w in page]) == (
                5,
                ["g-3d", "g-2h", "g-90s", "g-10s", "h"],
            )
            assert (await store.stalled(3600))[0] == 3
            assert (await store.stalled(2 * 86400))[0] == 2
            backlog = await store.backlog(60)
            assert (backlog.channels, backlog.messages, backlog.stalled) == (5, 5, 3)
            assert abs(backlog.oldest_seconds - 3 * 86400) < 120
            await counted_alike(postgres_url, store)
    async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
        cursor = await conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'rocket_messages' AND column_name = 'state'"
        )
        assert await cursor.fetchall() == []
        cursor = await conn.execute("SELECT value FROM rockets_meta")
        assert await cursor.fetchone() == ("4",)
    async with opened(postgres_url, app) as (store, engine):
        for channel in ("g-10s", "g-90s", "g-2h", "g-3d"):
            await ingest(
                engine, Record(channel, 1, START, T0, T0, b'{"kind":"F9","speed":1,"mission":"M"}')
            )
        await ingest(engine, Record("r", 4, ADD, T0, T0, b'{"by":4}'))
        total, page = await store.stalled(0)
        assert (total, [w.state.channel for w in page]) == (1, ["h"])
        await counted_alike(postgres_url, store)
