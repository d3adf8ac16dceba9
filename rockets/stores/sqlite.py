"""The SQLite store: embedded and durable, for one server process.

Every accepted message — applied or waiting behind a gap — is a row of ``messages``, keyed by
(channel, number); a channel's event log is the contiguous prefix of its rows. A group is one
transaction, committed before any request of the group is answered. The database is in WAL mode
with ``synchronous=NORMAL`` by default: a commit survives the process being killed, and only a
power cut or an operating-system crash can lose the last commits; ``?synchronous=full`` closes
that window too, at a cost per commit.

All SQLite calls run on two dedicated threads (one writing, one reading), never on the event
loop. A lock on the database file itself keeps a second process out, whatever name or link it
opens the file by: the sequencer and the projection live in this process's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
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

# The database files this process holds, by identity (device, inode). A second store of this
# process on one of them is refused before it opens the file: closing any descriptor of a file
# drops every POSIX lock the process holds on it, SQLite's own included.
_HELD: set[tuple[int, int]] = set()


class SQLiteStore(LocalStore):
    """A durable store in one SQLite file.

    Args:
        path: the database file; its directory must exist.
        limits: the pending-buffer bounds.
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
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="rockets-sqlite-writer")
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="rockets-sqlite-reader")
        self._write_conn: sqlite3.Connection | None = None
        self._read_conn: sqlite3.Connection | None = None
        self._lock: tuple[int, tuple[int, int]] | None = None  # descriptor, identity

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
        self._lock = self._hold()
        try:
            await self._open_connections()
        except BaseException:
            await self.close()
            raise

    def _hold(self) -> tuple[int, tuple[int, int]]:
        """Lock the database file itself, so that a hard link or a symlink to it is the same
        file to the lock (a lock file named after the path was not). On Linux an flock(2) lock
        and the POSIX locks SQLite takes ignore each other (but over NFS, where SQLite's WAL
        mode does not work anyway).

        Raises:
            StoreError: another rockets store holds the file, or it cannot be opened.
        """
        in_use = StoreError(
            f"sqlite: {str(self.path)!r} is in use: another rockets store holds this database "
            "file (under this name or another link to it); SQLite serves one process (use "
            "PostgreSQL to run several)"
        )
        try:
            known = os.stat(self.path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StoreError(f"sqlite: cannot open {str(self.path)!r}: {exc}") from exc
        else:
            if (known.st_dev, known.st_ino) in _HELD:
                raise in_use
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StoreError(f"sqlite: cannot open {str(self.path)!r}: {exc}") from exc
        opened = os.fstat(fd)
        identity = (opened.st_dev, opened.st_ino)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise in_use from None
        _HELD.add(identity)
        return fd, identity

    async def _open_connections(self) -> None:

        def setup() -> sqlite3.Connection:
            conn = self._connect_sync()
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {self.synchronous.upper()}")
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
        self._read_conn = await self._on(self._reader, self._connect_sync)

    async def close(self) -> None:
        for executor, conn in ((self._writer, self._write_conn), (self._reader, self._read_conn)):
            if conn is not None:
                with contextlib.suppress(StoreError):
                    await self._on(executor, conn.close)
        self._write_conn = self._read_conn = None
        if self._lock is not None:
            # Only now: closing the descriptor would drop SQLite's locks on the file too.
            fd, identity = self._lock
            _HELD.discard(identity)
            os.close(fd)  # which releases the flock
            self._lock = None
        await super().close()

    def _writing(self) -> sqlite3.Connection:
        if self._write_conn is None:
            raise StoreError("sqlite: the store is not open")
        return self._write_conn

    def _reading(self) -> sqlite3.Connection:
        if self._read_conn is None:
            raise StoreError("sqlite: the store is not open")
        return self._read_conn

    async def ping(self) -> None:
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

        def write() -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(_INSERT, rows)
                conn.executemany(_APPLY, now_applied)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        await self._on(self._writer, write)

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
