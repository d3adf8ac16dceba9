"""The SQLite store: embedded and durable, for one server process.

Every accepted message — applied or waiting behind a gap — is a row of ``messages``, keyed by
(channel, number); a channel's event log is the contiguous prefix of its rows. A group is one
transaction, committed before any request of the group is answered. The database is in WAL mode
with ``synchronous=NORMAL`` by default: a commit survives the process being killed, and only a
power cut or an operating-system crash can lose the last commits; ``?synchronous=full`` closes
that window too, at a cost per commit.

All SQLite calls run on two dedicated threads (one writing, one reading), never on the event
loop. Locks on the database file and beside it keep a second process out, whatever name or link
it opens the file by, and when the file is removed while the store runs: the sequencer and the
projection live in this process's memory (:mod:`rockets.stores.sqlite_files`).

A write is acknowledged only if the files it went to are still the files at the path. When they
are not, or a write does not end within the store timeout, writes are refused at once (503)
and ``ping`` says why, until rockets restarts (a file changed) or the write ends. A write that
fails (a full disk) is a 503 too, its reason logged once per kind, and ``ping`` tries a small
write of its own until one succeeds, so that ``/health`` recovers without traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qs, urlsplit

from rockets.errors import SettingsError, StoreError
from rockets.records import Record
from rockets.settings import Limits
from rockets.stores.base import Commit
from rockets.stores.local import LocalStore
from rockets.stores.rows import message_row, record_of
from rockets.stores.sqlite_files import Change, DatabaseFiles

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

SCHEMA_VERSION = 2
T = TypeVar("T")

# position: the event's place in the log, NULL while the message waits behind a gap.
# version: of its type's payload schema. Both came with schema version 2 (see _MIGRATE).
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    channel TEXT NOT NULL,
    number INTEGER NOT NULL,
    type TEXT NOT NULL,
    message_time TEXT NOT NULL,
    received_at TEXT NOT NULL,
    payload BLOB NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    position INTEGER,
    PRIMARY KEY (channel, number)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_position ON messages (position);
"""
# Version 1 kept no positions: each channel's applied prefix (the numbers 1, 2, 3… without a
# gap) is numbered, channel after channel, as it would have been had it been written so.
_MIGRATE = """
ALTER TABLE messages ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE messages ADD COLUMN position INTEGER;
UPDATE messages SET position = prefix.position
FROM (
    SELECT channel, number, ROW_NUMBER() OVER (ORDER BY channel, number) AS position
    FROM (
        SELECT channel, number, ROW_NUMBER() OVER (PARTITION BY channel ORDER BY number) AS nth
        FROM messages
    )
    WHERE number = nth
) AS prefix
WHERE messages.channel = prefix.channel AND messages.number = prefix.number;
"""
_COLUMNS = "channel, number, type, message_time, received_at, payload, version"
_INSERT = f"INSERT INTO messages ({_COLUMNS}, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_APPLY = "UPDATE messages SET position = ? WHERE channel = ? AND number = ?"
_LOAD_BATCH = 5000
_CHECKPOINT_PAGES = 10_000
# A write of its own that ``ping`` makes while writes fail: it changes nothing, but writes to the
# WAL as a group does.
_PROBE = (
    "INSERT INTO meta (key, value) VALUES ('probe', '')",
    "DELETE FROM meta WHERE key = 'probe'",
)
_REFUSED_UNTIL_RESTART = "writes are refused until rockets restarts"

log = logging.getLogger("rockets.store")


class SQLiteStore(LocalStore):
    """A durable store in one SQLite file.

    Args:
        path: the database file; its directory must exist.
        limits: the pending-buffer bounds, and the store timeout (how long a write may take).
        synchronous: ``normal`` (survives a killed process) or ``full`` (survives a power cut).
    """

    name: ClassVar[str] = "sqlite"
    durable: ClassVar[bool] = True

    def __init__(self, path: str | Path, limits: Limits, synchronous: str = "normal") -> None:
        super().__init__(limits)
        if synchronous not in ("normal", "full"):
            raise SettingsError(f"sqlite synchronous={synchronous!r}: use normal or full")
        self.path = Path(path)
        self.synchronous = synchronous
        self._timeout = limits.store_timeout
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="rockets-sqlite-writer")
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="rockets-sqlite-reader")
        self._write_conn: sqlite3.Connection | None = None
        self._read_conn: sqlite3.Connection | None = None
        self._files = DatabaseFiles(self.path)
        self._changed: str | None = None
        """Why writes are refused until a restart: a file changed under the store."""
        self._failing: str | None = None
        """Why the last write failed, until one succeeds."""
        self._told: set[str] = set()
        """The kinds of write failure logged since writes last succeeded."""

    @classmethod
    def from_url(cls, url: str, limits: Limits) -> SQLiteStore:
        """``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``, optionally with
        ``?synchronous=full``."""
        parts = urlsplit(url)
        path = url.split("?", 1)[0].removeprefix("sqlite:///")
        if parts.netloc or not path or path == url:
            raise SettingsError(
                f"store URL {url!r}: write sqlite:///relative/path.db or "
                "sqlite:////absolute/path.db"
            )
        options = parse_qs(parts.query)
        unknown = set(options) - {"synchronous"}
        if unknown:
            raise SettingsError(
                f"store URL {url!r}: unknown sqlite option(s) {', '.join(sorted(unknown))} "
                "(known: synchronous)"
            )
        synchronous = options.get("synchronous", ["normal"])[-1].lower()
        return cls(path, limits, synchronous)

    async def _on(self, executor: ThreadPoolExecutor, call: Callable[[], T]) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, call)
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite: {exc}") from exc

    def _connect_sync(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 5000")
        return conn

    async def _connect(self) -> None:
        if not self.path.parent.is_dir():
            raise StoreError(f"sqlite: directory {str(self.path.parent)!r} does not exist")
        self._changed = self._failing = None
        self._told = set()
        self._files.hold()
        try:
            await self._open_connections()
        except BaseException:
            await self.close()
            raise

    async def _open_connections(self) -> None:

        def setup() -> sqlite3.Connection:
            conn = self._connect_sync()
            (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            if mode != "wal":
                raise sqlite3.OperationalError(f"WAL mode is not available (journal mode {mode})")
            conn.execute(f"PRAGMA synchronous = {self.synchronous.upper()}")
            # A checkpoint every 10,000 pages (about 40 MB of WAL) rather than SQLite's 1,000:
            # the writer stops for one a tenth as often (+18% of single-message ingest in
            # process, docs/performance.md); a restart reads at most that much WAL back.
            conn.execute(f"PRAGMA wal_autocheckpoint = {_CHECKPOINT_PAGES}")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is not None and int(row[0]) > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(
                    f"schema version {row[0]} was written by a newer rockets (this one knows "
                    f"{SCHEMA_VERSION})"
                )
            conn.execute("BEGIN IMMEDIATE")
            try:
                if row is not None and int(row[0]) == 1:
                    for statement in _MIGRATE.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (str(SCHEMA_VERSION),),
                )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return conn

        self._write_conn = await self._on(self._writer, setup)
        # The commit above made the WAL, which SQLite keeps while a connection is open.
        self._files.watch()
        self._read_conn = await self._on(self._reader, self._connect_sync)

    async def close(self) -> None:
        for executor, conn in ((self._writer, self._write_conn), (self._reader, self._read_conn)):
            if conn is not None:
                with contextlib.suppress(StoreError):
                    await self._on(executor, conn.close)
        self._write_conn = self._read_conn = None
        # Only now: closing the database file's descriptor would drop SQLite's locks on it too.
        self._files.release()
        await super().close()

    def _writing(self) -> sqlite3.Connection:
        if self._write_conn is None:
            raise StoreError("sqlite: the store is not open")
        return self._write_conn

    def _reading(self) -> sqlite3.Connection:
        if self._read_conn is None:
            raise StoreError("sqlite: the store is not open")
        return self._read_conn

    def _refusal(self) -> str | None:
        if self._changed is not None:
            return self._changed
        if self._unsettled is not None:
            return (
                f"sqlite: a write to {str(self.path)!r} did not end within {self._timeout:g} s "
                "(ROCKETS_STORE_TIMEOUT): writes are refused until it ends"
            )
        return None

    async def ping(self) -> None:
        """Raise while writes are refused or fail: with a write of its own while they fail, so
        that the answer changes as soon as the store can be written again."""
        refusal = self._refusal()
        if refusal is not None:
            raise StoreError(refusal)
        if self._failing is not None:
            conn = self._writing()
            async with self._one_write:  # the only write under way, as a group's is
                try:
                    await self._written(lambda: self._transaction(conn, _PROBE, ()))
                except BaseException as exc:
                    unsettled = self._unsettled
                    if unsettled is not None:
                        unsettled.add_done_callback(self._settled)
                    if not isinstance(exc, StoreError):
                        raise
                    raise StoreError(self._refusal() or self._failing or str(exc)) from None
        conn = self._reading()
        await self._on(self._reader, lambda: conn.execute("SELECT 1").fetchone())

    async def _write(self, commit: Commit, positions: range) -> None:
        if not commit.received and not commit.applied:
            return
        conn = self._writing()
        position_of = {
            (record.channel, record.message_number): position
            for record, position in zip(commit.applied, positions, strict=True)
        }
        rows = [
            (*message_row(record), position_of.pop((record.channel, record.message_number), None))
            for record in commit.received
        ]
        # What is left waited behind a gap in an earlier group: it joins the log now.
        now_applied = [(position, *key) for key, position in position_of.items()]
        statements = ((_INSERT, rows), (_APPLY, now_applied))
        await self._written(lambda: self._transaction(conn, (), statements))

    async def _written(self, write: Callable[[], None]) -> None:
        """Run ``write`` on the writer thread and wait for it, at most the store timeout.

        Raises:
            StoreError: it failed, or did not end in time. It then goes on, as the store's
                unsettled write (see :class:`LocalStore`), and is logged when it ends.
        """
        future = asyncio.get_running_loop().run_in_executor(self._writer, write)
        try:
            await asyncio.wait((future,), timeout=self._timeout)
        except asyncio.CancelledError:
            # Whoever waited is gone, but the write may still commit: it is followed to its end.
            self._unsettled = future
            raise
        if not future.done():
            self._unsettled = future
            refusal = self._refusal()
            log.warning("%s; its messages are answered 503", refusal)
            future.add_done_callback(functools.partial(self._late, time.monotonic()))
            raise StoreError(refusal)
        try:
            future.result()
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite: {exc}") from exc

    def _late(self, since: float, future: asyncio.Future[None]) -> None:
        took = time.monotonic() - since + self._timeout
        failure = None if future.cancelled() else future.exception()
        outcome = "kept" if failure is None else f"not kept ({failure})"
        log.warning(
            "sqlite: the write that did not end in time ended after %.1f s: %s", took, outcome
        )

    def _settled(self, future: asyncio.Future[None]) -> None:
        """Ends an unsettled write of ``ping`` (a group settles its own)."""
        if self._unsettled is future:
            self._unsettled = None

    def _transaction(
        self,
        conn: sqlite3.Connection,
        statements: tuple[str, ...],
        batches: tuple[tuple[str, list[Any]], ...],
    ) -> None:
        """One write transaction, on the writer thread, between two looks at the files: it
        counts as kept only if they are still the files at the path once it is committed."""
        self._verify(conn)
        try:
            try:
                conn.execute("BEGIN IMMEDIATE")
                for statement in statements:
                    conn.execute(statement)
                for statement, rows in batches:
                    conn.executemany(statement, rows)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # none is left open on the writer, whosever it was
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            self._verify(conn)  # a file changed under SQLite says more than its error
            self._failed(exc)
            raise
        self._verify(conn)
        if self._failing is not None:
            log.info("sqlite: writes to %r succeed again", str(self.path))
            self._failing = None
            self._told = set()

    def _failed(self, exc: sqlite3.Error) -> None:
        kind = str(exc)
        self._failing = f"sqlite: writes to {str(self.path)!r} fail: {kind}"
        if kind not in self._told:
            self._told.add(kind)
            log.warning("%s; messages are answered 503 until a write succeeds", self._failing)

    def _verify(self, conn: sqlite3.Connection) -> None:
        """Raise if the files changed under the store (deciding, the first time, what becomes
        of what they hold)."""
        if self._changed is None:
            try:
                change = self._files.change()
            except OSError as exc:
                self._changed = (
                    f"sqlite: the files of {str(self.path)!r} could not be looked at ({exc}): "
                    f"{_REFUSED_UNTIL_RESTART}"
                )
                log.error("%s", self._changed)
            else:
                if change is None:
                    return
                self._changed = self._secure(conn, change)
                log.error("%s", self._changed)
        raise StoreError(self._changed)

    def _secure(self, conn: sqlite3.Connection, change: Change) -> str:
        """Keep what can be kept of what the changed files hold; say what became of it."""
        said = f"sqlite: {change.file!r} {change.what} while rockets ran: {_REFUSED_UNTIL_RESTART}"
        if change.damaged:
            # SQLite would copy the lost pages (zeros) into the database at its next checkpoint.
            self._files.empty_wal()
            return (
                f"{said}; what the WAL held since the last checkpoint is lost (the WAL was "
                "emptied, so that none of it reaches the database file)"
            )
        # Into the database file this process holds, which is the file at the path if only the
        # WAL went, and leaves the WAL at the path empty for whatever database is there next.
        try:
            (busy, *_) = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.Error as exc:
            busy, failure = 1, str(exc)
        else:
            failure = "readers held it"
        if change.file != str(self._files.wal):
            return said
        if busy:
            return (
                f"{said}; what the WAL held since the last checkpoint could not be moved into "
                f"the database file ({failure}) and is lost when rockets stops"
            )
        return f"{said}; what the WAL held was moved into the database file"

    async def _load(self) -> AsyncIterator[tuple[int | None, Record]]:
        conn = self._writing()
        query = (
            f"SELECT position, {_COLUMNS} FROM messages "
            "ORDER BY position IS NULL, position, channel, number"
        )
        cursor = await self._on(self._writer, lambda: conn.execute(query))
        while rows := await self._on(self._writer, lambda: cursor.fetchmany(_LOAD_BATCH)):
            for row in rows:
                yield row[0], record_of(row[1:])

    async def _event(self, channel: str, number: int) -> Record | None:
        conn = self._writing()
        row = await self._on(
            self._writer,
            lambda: conn.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE channel = ? AND number = ?",
                (channel, number),
            ).fetchone(),
        )
        return None if row is None else record_of(row)

    async def _events(self, channel: str, start: int, stop: int) -> list[Record]:
        conn = self._reading()
        rows: list[Any] = await self._on(
            self._reader,
            lambda: conn.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE channel = ? AND number BETWEEN ? AND ? "
                "ORDER BY number",
                (channel, start, stop),
            ).fetchall(),
        )
        return [record_of(row) for row in rows]

    async def received(self) -> AsyncIterator[Record]:
        async for _, record in self._load():
            yield record
