"""The store contract suite (rockets.testing.store_contract) against every built-in store."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

import msgspec
import pytest
from psycopg.conninfo import conninfo_to_dict

from rockets.core.state_schema import StateSchema, build_state_schema
from rockets.errors import SettingsError, StoreError
from rockets.records import Record
from rockets.runtime.engine import Engine
from rockets.state import RocketState
from rockets.stores import MemoryStore, Store, open_store
from rockets.stores.base import Backlog, Commit
from rockets.stores.fields import INDEX_PREFIX, TEXT_PREFIX, FieldIndex, digest
from rockets.stores.local import LocalStore
from rockets.stores.postgres import PostgresStore
from rockets.stores.sqlite import SQLiteStore
from rockets.testing.store_contract import (
    CONTRACT_LIMITS,
    FOLD,
    REGISTRY,
    StoreContract,
    StoreFactory,
    launch,
    speed_up,
)

from ..gated_store import GatedStore, let_the_loop_run
from .test_sequencer import Clock


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return lambda: MemoryStore(CONTRACT_LIMITS)


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def store_factory(self, tmp_path: Path) -> StoreFactory:
        return lambda: open_store(f"sqlite:///{tmp_path}/rockets.db", CONTRACT_LIMITS)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("memory://", MemoryStore),
        ("sqlite:///rockets.db", SQLiteStore),
        ("sqlite:////var/lib/rockets/rockets.db?synchronous=full", SQLiteStore),
        ("postgresql://rockets@localhost/rockets", PostgresStore),
        ("postgres://rockets@localhost:5433/rockets?pool_max=20", PostgresStore),
    ],
)
def test_store_urls(url: str, kind: type[Store]) -> None:
    assert isinstance(open_store(url, CONTRACT_LIMITS), kind)


def test_sqlite_url_forms() -> None:
    relative = open_store("sqlite:///data/rockets.db", CONTRACT_LIMITS)
    absolute = open_store("sqlite:////var/lib/rockets.db?synchronous=full", CONTRACT_LIMITS)
    assert isinstance(relative, SQLiteStore)
    assert isinstance(absolute, SQLiteStore)
    assert (str(relative.path), relative.synchronous) == ("data/rockets.db", "normal")
    assert (str(absolute.path), absolute.synchronous) == ("/var/lib/rockets.db", "full")


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("redis://localhost", "unknown store scheme 'redis'"),
        ("sqlite://", "sqlite:///relative"),
        ("sqlite://host/x.db", "sqlite:///relative"),
        ("sqlite:///x.db?synchronous=sometimes", "use normal or full"),
        ("postgresql://h/db?pool_max=lots", "must be numbers"),
        ("postgresql://h/db?open_timeout=soon", "must be numbers"),
        ("postgresql://h/db?frobnicate=1", 'invalid URI query parameter: "frobnicate"'),
    ],
)
def test_bad_store_urls(url: str, complaint: str) -> None:
    with pytest.raises(SettingsError, match=complaint):
        open_store(url, CONTRACT_LIMITS)


def test_postgres_url_options_reach_libpq_whole() -> None:
    store = PostgresStore.from_url(
        "postgresql://h/db?pool_max=2&options=-c%20work_mem%3D5MB&application_name=a%20b",
        CONTRACT_LIMITS,
    )
    given = conninfo_to_dict(store.conninfo)
    assert (given["options"], given["application_name"]) == ("-c work_mem=5MB", "a b")


@pytest.mark.anyio
@pytest.mark.parametrize("link", ["same name", "hard link", "symlink"])
async def test_sqlite_serves_one_store_at_a_time_whatever_the_name(
    tmp_path: Path, link: str
) -> None:
    database = tmp_path / "db.sqlite"
    first = open_store(f"sqlite:///{database}", CONTRACT_LIMITS)
    await first.open(REGISTRY.state, FOLD)
    other = tmp_path / "elsewhere" / "other.sqlite"
    other.parent.mkdir()
    if link == "same name":
        other = database
    elif link == "hard link":
        other.hardlink_to(database)
    else:
        other.symlink_to(database)
    second = open_store(f"sqlite:///{other}", CONTRACT_LIMITS)
    try:
        with pytest.raises(StoreError, match=re.escape(f"{str(other)!r} is in use")):
            await second.open(REGISTRY.state, FOLD)
    finally:
        await first.close()
    await second.open(REGISTRY.state, FOLD)  # free again once the first is closed
    await second.close()


@pytest.mark.anyio
async def test_sqlite_needs_an_existing_directory(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/missing/db.sqlite", CONTRACT_LIMITS)
    with pytest.raises(StoreError, match="does not exist"):
        await store.open(REGISTRY.state, FOLD)


@pytest.mark.anyio
async def test_postgres_unreachable_is_a_store_error() -> None:
    from ..server import free_port

    store = PostgresStore.from_url(
        f"postgresql://nobody@127.0.0.1:{free_port()}/none?open_timeout=1", CONTRACT_LIMITS
    )
    with pytest.raises(StoreError, match="cannot open the store"):
        await store.open(REGISTRY.state, FOLD)


STORES = Path(__file__).resolve().parents[2] / "rockets" / "stores"
STANDARD_FIELDS = re.compile(
    r"\b(speed|mission|status|launched_at|launchedAt|updated_at|updatedAt|"
    r"type text COLLATE|reason text)\b"
)


def test_the_stores_name_no_standard_field() -> None:
    # The standard fields are sorted and filtered as a plugin's are: by the state schema.
    named = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(STORES.glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if STANDARD_FIELDS.search(line)
    ]
    assert named == []


class Gauges(RocketState, frozen=True, kw_only=True):
    """A plugin's fields, one of each kind the PostgreSQL store indexes, and two it does not."""

    fuel: int = 7
    ratio: float | None = None
    armed: bool = False
    callsign: str = ""
    grade: Literal["a", "b"] = "a"
    checked_at: datetime | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    either: int | str = 0


def gauges_schema() -> StateSchema:
    return build_state_schema([("gauges", Gauges)])


def test_every_scalar_field_is_indexed_whoever_declares_it() -> None:
    index = FieldIndex(gauges_schema())
    built_in = {f.encode_name for f in msgspec.structs.fields(RocketState)} - {"channel"}
    listed = {name for name in built_in if name in gauges_schema().fields}
    mine = {"fuel", "ratio", "armed", "callsign", "grade", "checkedAt"}
    assert set(index.fields) == listed | mine
    assert index.key == "channel"
    assert all(f.index.startswith(INDEX_PREFIX) for f in index.fields.values())
    assert len({f.index for f in index.fields.values()}) == len(index.fields)
    assert (index.fields["callsign"].text, index.fields["fuel"].text) == (True, False)
    assert (index.fields["ratio"].nullable, index.fields["fuel"].nullable) == (True, False)
    # A row written before the plugin was loaded reads as the default, as the state decodes.
    assert "'7'::jsonb" in index.fields["fuel"].expression


def test_the_document_holds_sortable_values() -> None:
    index = FieldIndex(gauges_schema())
    state = gauges_schema().state_type(channel="c")
    paris = datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=1)))
    naive = datetime(2024, 1, 1, 11, 0, 0, 1)
    changed = msgspec.structs.replace(
        state, checked_at=paris, callsign="a\x00b", tags=["x"], launched_at=naive
    )
    document = msgspec.json.decode(index.document(changed))
    # Times as microseconds since 1970 in UTC (a naive one taken as UTC); no NUL in jsonb.
    assert document["checkedAt"] == 1_704_106_800_000_000
    assert document["launchedAt"] == 1_704_106_800_000_001
    assert document["callsign"] == "ab"
    assert set(document) == set(index.fields)


def test_long_text_is_found_by_its_prefix_and_matched_whole() -> None:
    index = FieldIndex(gauges_schema())
    long = "x" * (TEXT_PREFIX + 10)
    where, params, rest = index.conditions({"callsign": long, "fuel": 3})
    assert not rest
    # The document keeps the prefix and a digest of the whole: the condition matches both.
    assert params == ["x" * TEXT_PREFIX, digest(long), "3"]
    assert "fields ->> E'callsign#'" in where[0]
    state = msgspec.structs.replace(gauges_schema().state_type(channel="c"), callsign=long)
    document = msgspec.json.decode(index.document(state))
    assert (document["callsign"], document["callsign#"]) == ("x" * TEXT_PREFIX, digest(long))
    # A value as long as a prefix has no digest: it is the prefix, whole.
    _, params, _ = index.conditions({"callsign": "x" * TEXT_PREFIX})
    assert params == ["x" * TEXT_PREFIX, ""]
    _, params, _ = index.conditions({"callsign": "short"})
    assert params == ["short"]  # shorter than a prefix: the prefix is the whole value
    assert index.conditions({"callsign": "a\x00"})[0] == ["false"]
    assert index.conditions({"tags": ["x"]})[2] is True


def _received(record: Record, seconds_ago: float) -> Record:
    at = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    return msgspec.structs.replace(record, received_at=at)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_a_local_store_lists_and_counts_waiting_rockets_from_its_order(
    tmp_path: Path, kind: str
) -> None:
    url = "memory://" if kind == "memory" else f"sqlite:///{tmp_path}/rockets.db"
    store = open_store(url, CONTRACT_LIMITS)
    assert isinstance(store, LocalStore)
    await store.open(REGISTRY.state, FOLD)
    store.sequencer.clock = clock = Clock(10.0)
    try:
        engine = Engine(REGISTRY, store)
        await engine.process([[speed_up("b", 3)]])
        clock.now = 20.0
        await engine.process([[speed_up("a", 2), speed_up("c", 4)]])
        clock.now = 30.0
        await engine.process([[speed_up("a", 5)]])
        clock.now = 50.0
        total, page = await store.stalled(25.0)
        listed = [(w.state.channel, w.state.pending, w.seconds) for w in page]
        assert (total, listed) == (3, [("b", 1, 40.0), ("a", 2, 30.0), ("c", 1, 30.0)])
        total, page = await store.stalled(0.0, limit=1, offset=1)
        assert (total, [w.state.channel for w in page]) == (3, ["a"])
        total, page = await store.stalled(35.0)
        assert (total, [w.state.channel for w in page]) == (1, ["b"])
        assert await store.backlog(25.0) == Backlog(
            channels=3, messages=4, stalled=3, oldest_seconds=40.0
        )
        assert await store.backlog(35.0) == Backlog(
            channels=3, messages=4, stalled=1, oldest_seconds=40.0
        )
    finally:
        await store.close()


@pytest.mark.anyio
async def test_sqlite_messages_read_back_wait_since_they_were_received_never_less(
    tmp_path: Path,
) -> None:
    """A restart reads the waits back from ``received_at``: their order holds, and a message
    received "later" than now (the wall clock set back since) has waited 0 s, not less."""
    url = f"sqlite:///{tmp_path}/rockets.db"
    store = open_store(url, CONTRACT_LIMITS)
    await store.open(REGISTRY.state, FOLD)
    engine = Engine(REGISTRY, store)
    await engine.process(
        [
            [_received(speed_up("old", 3), 600)],
            [_received(speed_up("new", 3), 60)],
            [_received(speed_up("ahead", 3), -3600)],
        ]
    )
    await store.close()
    again = open_store(url, CONTRACT_LIMITS)
    await again.open(REGISTRY.state, FOLD)
    try:
        total, page = await again.stalled(0.0)
        assert (total, [w.state.channel for w in page]) == (3, ["old", "new", "ahead"])
        old, new, ahead = (w.seconds for w in page)
        assert 600 <= old < 660
        assert 60 <= new < 120
        assert 0 <= ahead < 60
        backlog = await again.backlog(300.0)
        assert (backlog.channels, backlog.messages, backlog.stalled) == (3, 3, 1)
        assert backlog.oldest_seconds >= old
    finally:
        await again.close()


@pytest.mark.anyio
async def test_groups_that_come_while_a_write_is_under_way_are_written_together() -> None:
    """A group commit: the groups of other workers that reach the store while a write is
    under way go in the next write, one write for them all, each with its own positions and
    each published; none is written twice."""
    written: list[Commit] = []

    class Recording(GatedStore):
        async def _write(self, commit: Commit, positions: range) -> None:
            written.append(commit)
            await super()._write(commit, positions)

    store = Recording()
    await store.open(REGISTRY.state, FOLD)
    engine = Engine(REGISTRY, store)
    first = asyncio.create_task(engine.process([[launch("a", 1)]]))
    await store.holding(1)
    later = [asyncio.create_task(engine.process([[launch(c, 1)]])) for c in ("b", "c")]
    await let_the_loop_run()
    store.gate.set()
    await asyncio.gather(first, *later)
    assert [[(r.channel, r.message_number) for r in commit.applied] for commit in written] == [
        [("a", 1)],
        [("b", 1), ("c", 1)],
    ]
    assert await store.position() == 3
    for channel in ("a", "b", "c"):
        state = await store.rocket(channel)
        assert state is not None
        assert state.last_message_number == 1
    await store.close()
