"""The SQLite store acknowledges only what its files keep: files removed or cut short under it,
writes that fail, and writes that do not end in time, through the real store and engine."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import msgspec
import pytest

from rockets.core.sequencer import Verdict
from rockets.errors import StoreError
from rockets.records import Record
from rockets.runtime.engine import Engine
from rockets.stores.sqlite import SQLiteStore
from rockets.testing.store_contract import CONTRACT_LIMITS, FOLD, REGISTRY, launch, speed_up

from ..gated_store import HANG_GUARD

pytestmark = pytest.mark.anyio

ACCEPTED, DUPLICATE = Verdict.ACCEPTED, Verdict.DUPLICATE
STALL_TIMEOUT = 0.05
"""The store timeout of the stalled-disk tests: their writer thread waits on a gate the test
holds closed, so any timeout is overrun; a short one only keeps the tests short."""
SETTLE_POLLS = 2000
"""Bound of the polls for a write that goes on in the background to end (each a 10 ms pause,
a guard against a hang, never a verdict)."""


@asynccontextmanager
async def opened(path: Path, timeout: float = 2.0) -> AsyncIterator[tuple[SQLiteStore, Engine]]:
    limits = msgspec.structs.replace(CONTRACT_LIMITS, store_timeout=timeout)
    store = SQLiteStore(path, limits)
    await store.open(REGISTRY.state, FOLD)
    try:
        yield store, Engine(REGISTRY, store)
    finally:
        await store.close()


async def ingest(engine: Engine, *records: Record) -> list[Verdict]:
    (result,) = await engine.process([list(records)])
    assert isinstance(result, list), result
    return [outcome.verdict for outcome in result]


def kept(path: Path) -> set[tuple[str, int]]:
    """What the database file alone holds (as after a SIGKILL that took the WAL with it)."""
    copy = path.with_name("copy.db")
    copy.write_bytes(path.read_bytes())
    with sqlite3.connect(copy) as conn:
        found = {(c, n) for c, n in conn.execute("SELECT channel, number FROM messages")}
    conn.close()
    copy.unlink()
    return found


def errors(caplog: pytest.LogCaptureFixture, words: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if words in r.getMessage()]


async def settled(store: SQLiteStore) -> None:
    """Return once no write goes on in the background."""
    for _ in range(SETTLE_POLLS):
        if store._refusal() is None:
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("the write never ended")


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "rockets.db"


def wal_of(database: Path) -> Path:
    return database.with_name(f"{database.name}-wal")


async def test_a_removed_wal_refuses_writes_and_keeps_what_it_held(
    database: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rockets.store")
    async with opened(database) as (store, engine):
        assert await ingest(engine, launch("a"), speed_up("a", 2)) == [ACCEPTED] * 2
        wal_of(database).unlink()
        with pytest.raises(StoreError, match="was removed while rockets ran"):
            await ingest(engine, speed_up("a", 3))
        state = await store.rocket("a")
        assert state is not None
        assert state.last_message_number == 2  # not taken
        with pytest.raises(StoreError, match="moved into the database file"):
            await store.ping()
        with pytest.raises(StoreError, match="refused until rockets restarts"):
            await ingest(engine, launch("b"))
        # What the removed WAL held is in the database file itself: a crash now loses nothing.
        assert kept(database) == {("a", 1), ("a", 2)}
        assert len(errors(caplog, "was removed")) == 1
    async with opened(database) as (store, engine):
        await store.ping()
        assert await ingest(engine, speed_up("a", 3), launch("b")) == [ACCEPTED] * 2


@pytest.mark.parametrize("cut", ["to nothing", "to half", "its header"])
async def test_a_wal_cut_short_in_place_refuses_writes_and_the_database_opens_again(
    database: Path, cut: str
) -> None:
    async with opened(database) as (store, engine):
        for number in range(1, 6):
            assert await ingest(engine, launch(f"r{number}")) == [ACCEPTED]
        wal = wal_of(database)
        size = wal.stat().st_size
        if cut == "its header":
            with wal.open("r+b") as file:
                file.write(bytes(32))
        else:
            os.truncate(wal, 0 if cut == "to nothing" else size // 2)
        with pytest.raises(StoreError, match=r"cut short in place|lost its header"):
            await ingest(engine, launch("late"))
        with pytest.raises(StoreError, match="since the last checkpoint is lost"):
            await store.ping()
        assert await store.rocket("late") is None
    # SQLite would have copied the lost pages into the database when it closed: it opens.
    async with opened(database) as (store, engine):
        assert await ingest(engine, launch("late")) == [ACCEPTED]
        conn = sqlite3.connect(database)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        conn.close()


async def test_a_wal_cut_short_then_written_on_is_told_by_its_header_or_its_hole(
    database: Path,
) -> None:
    async with opened(database) as (store, engine):
        assert await ingest(engine, launch("a")) == [ACCEPTED]
        files = store._files
        assert files.change() is None
        wal = wal_of(database)
        size = wal.stat().st_size
        os.truncate(wal, 0)
        with wal.open("r+b") as file:  # as SQLite writes on at the end it knew
            file.seek(size)
            file.write(b"frame")
        change = files.change()
        assert change is not None
        assert change.damaged
        assert change.what == "lost its header (its first bytes were overwritten)"
        with wal.open("r+b") as file:
            file.write(bytes.fromhex("377f0682"))
        change = files.change()
        assert change is not None
        assert change.damaged
        assert change.what.startswith("has a hole at byte 4096 (it was cut short in place")
        files.empty_wal()  # so that closing copies none of it


async def test_a_removed_database_file_refuses_writes_and_keeps_the_path_locked(
    database: Path,
) -> None:
    async with opened(database) as (store, engine):
        assert await ingest(engine, launch("a")) == [ACCEPTED]
        database.unlink()
        with pytest.raises(StoreError, match=r"rockets\.db' was removed while rockets ran"):
            await ingest(engine, launch("b"))
        second = SQLiteStore(database, CONTRACT_LIMITS)
        with pytest.raises(StoreError, match="is in use"):
            await second.open(REGISTRY.state, FOLD)
        assert not database.exists()  # the second store did not make one
    assert not database.with_name("rockets.db.lock").exists()
    # The removed file's WAL was emptied: the new database at the path starts clean.
    async with opened(database) as (store, engine):
        assert await store.count() == 0
        assert await ingest(engine, launch("b")) == [ACCEPTED]


async def test_a_moved_database_file_holds_everything_written_to_it(database: Path) -> None:
    moved = database.with_name("moved.db")
    async with opened(database) as (store, engine):
        assert await ingest(engine, launch("a"), launch("b")) == [ACCEPTED] * 2
        database.rename(moved)
        with pytest.raises(StoreError, match="was moved while rockets ran"):
            await ingest(engine, launch("c"))
        assert kept(moved) == {("a", 1), ("b", 1)}
        database.write_bytes(b"")  # someone's new file at the path
        with pytest.raises(StoreError, match="was moved while rockets ran"):
            await store.ping()


async def test_unchanged_files_never_refuse_a_write(database: Path) -> None:
    # Enough pages for SQLite to checkpoint and restart its WAL several times.
    async with opened(database) as (_, engine):
        for number in range(1, 3001):
            assert await ingest(engine, speed_up("a", number) if number > 1 else launch("a")) == [
                ACCEPTED
            ]
        assert wal_of(database).stat().st_size > 1000 * 4096 // 2


def stall(store: SQLiteStore, then: Callable[[], object] = lambda: None) -> threading.Event:
    """Stall the store's disk: its writer thread waits until the returned gate opens, then
    runs ``then``."""
    gate = threading.Event()

    def stalled() -> None:
        gate.wait(HANG_GUARD)
        then()

    store._writer.submit(stalled)
    return gate


async def test_a_write_that_does_not_end_in_time_is_published_when_it_ends(
    database: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rockets.store")
    async with opened(database, timeout=STALL_TIMEOUT) as (store, engine):
        gate = stall(store)
        with pytest.raises(StoreError, match=r"did not end within 0\.05 s"):
            await ingest(engine, launch("a"))
        with pytest.raises(StoreError, match="did not end within"):
            await store.ping()
        # Refused at once, while the stalled write still waits at the gate.
        with pytest.raises(StoreError, match="refused until it ends"):
            await ingest(engine, launch("b"))
        assert await store.rocket("a") is None
        gate.set()
        await settled(store)
        # It was kept: published now, so a retry is a duplicate, as it would be after a restart.
        assert await store.rocket("a") is not None
        assert await ingest(engine, launch("a"), launch("b")) == [DUPLICATE, ACCEPTED]
        await store.ping()
        assert len(errors(caplog, "did not end within")) == 1
        assert len(errors(caplog, "ended after")) == 1
    async with opened(database) as (store, _):
        assert await store.count() == 2


async def test_a_write_that_does_not_end_in_time_and_then_fails_is_not_kept(
    database: Path,
) -> None:
    async with opened(database, timeout=STALL_TIMEOUT) as (store, engine):
        conn = store._writing()
        # The write then finds a transaction open, and fails.
        gate = stall(store, then=lambda: conn.execute("BEGIN"))
        with pytest.raises(StoreError, match="did not end within"):
            await ingest(engine, launch("a"), speed_up("a", 2))
        gate.set()
        await settled(store)
        assert await store.rocket("a") is None
        assert await ingest(engine, launch("a"), speed_up("a", 2)) == [ACCEPTED] * 2
    async with opened(database) as (store, _):
        state = await store.rocket("a")
        assert state is not None
        assert state.last_message_number == 2


async def test_a_failing_write_is_told_once_per_kind_and_ping_probes_until_one_succeeds(
    database: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rockets.store")
    async with opened(database) as (store, engine):
        conn = store._writing()

        async def pragma(statement: str) -> None:
            await store._on(store._writer, lambda: conn.execute(statement))

        await pragma("PRAGMA query_only = ON")  # every write fails, ping's own too
        for number in range(1, 4):
            with pytest.raises(StoreError, match="readonly"):
                await ingest(engine, launch(f"r{number}"))
        with pytest.raises(StoreError, match=r"writes to .* fail: attempt to write a readonly"):
            await store.ping()
        assert await store.count() == 0
        assert len(errors(caplog, "readonly")) == 1
        (pages,) = await store._on(
            store._writer, lambda: conn.execute("PRAGMA page_count").fetchone()
        )
        await pragma("PRAGMA query_only = OFF")
        await pragma(f"PRAGMA max_page_count = {pages}")  # a full disk, for new pages
        big = [speed_up("x", n) for n in range(2, 200)]
        for _ in range(3):
            with pytest.raises(StoreError, match="database or disk is full"):
                await ingest(engine, launch("x"), *big)
        assert len(errors(caplog, "database or disk is full")) == 1
        await pragma("PRAGMA max_page_count = 1073741823")
        await store.ping()  # its small write succeeds: writes are told to succeed again
        assert len(errors(caplog, "succeed again")) == 1
        assert await ingest(engine, launch("r1")) == [ACCEPTED]
