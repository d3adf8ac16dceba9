"""The PostgreSQL store: durable, and shared by any number of server processes and machines.

Nothing is kept in the process: the database is the only truth, so every process answers every
read alike. Two tables hold everything:

- ``rocket_messages``: every accepted message, applied or waiting, keyed by (channel, number).
  The key makes a duplicate impossible across processes.
- ``rocket_channels``: one row per channel with its applied prefix, highest number, pending
  count and current state: the state exactly as encoded (``state``), and its scalar fields in
  sortable form (``fields``, jsonb), with an expression index per field made at start from the
  app's state type (:mod:`rockets.stores.fields`). No field and no message type is named here:
  the standard fields are sorted and filtered as a plugin's are.

A group runs in one transaction that first locks its channels' rows (``SELECT … FOR UPDATE``, in
channel order, so that two processes never wait on each other in a cycle), loads their
sequencing state, lets the engine work, then writes the new messages and states and commits.
The row lock is what serializes a channel across processes; the in-process worker pool only
spares a process from waiting on itself.

The database may go away and come back while the server runs: a request then gets a
:class:`StoreError` (a 503) within the store timeout, and the first request after the database
returns is served (see :mod:`rockets.stores.connections`).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import msgspec

from rockets.core.rocket_index import select
from rockets.core.sequencer import Sequencer
from rockets.core.state_schema import StateSchema, build_state_schema
from rockets.errors import SettingsError, StoreError, TransientStoreError
from rockets.records import Applied, Record
from rockets.settings import Limits
from rockets.state import RocketState
from rockets.stores.base import Commit, Fold, Group, Replay, Store
from rockets.stores.connections import Connections, reason
from rockets.stores.fields import INDEX_PREFIX, FieldIndex, SortedField
from rockets.stores.rows import COLUMNS, message_row, record_of
from rockets.wire import RocketQuery

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise SettingsError(
        "the PostgreSQL store needs psycopg: pip install 'rockets[postgres]'"
    ) from exc

__all__ = ["SCHEMA_VERSION", "PostgresStore"]


SCHEMA_VERSION = 3
_SCHEMA_LOCK = 727_001  # pg_advisory_xact_lock key: one process creates the schema at a time

# "C" collation: text sorts by code point, as the in-memory stores sort it.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS rockets_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS rocket_messages (
    channel text COLLATE "C" NOT NULL,
    number bigint NOT NULL,
    type text NOT NULL,
    message_time text NOT NULL,
    received_at text NOT NULL,
    payload bytea NOT NULL,
    PRIMARY KEY (channel, number)
);
ALTER TABLE rocket_messages ADD COLUMN IF NOT EXISTS version integer NOT NULL DEFAULT 1;
ALTER TABLE rocket_messages ADD COLUMN IF NOT EXISTS position bigint;
ALTER TABLE rocket_messages ADD COLUMN IF NOT EXISTS state bytea;
CREATE UNIQUE INDEX IF NOT EXISTS rocket_messages_by_position ON rocket_messages (position);
CREATE TABLE IF NOT EXISTS rocket_log (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    last bigint NOT NULL
);
INSERT INTO rocket_log (last) VALUES (0) ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS rocket_projections (
    name text PRIMARY KEY,
    version integer NOT NULL,
    position bigint NOT NULL,
    value bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS rocket_channels (
    channel text COLLATE "C" PRIMARY KEY,
    applied bigint NOT NULL DEFAULT 0,
    highest bigint NOT NULL DEFAULT 0,
    pending integer NOT NULL DEFAULT 0,
    state bytea,
    fields jsonb NOT NULL DEFAULT '{}'
);
ALTER TABLE rocket_channels ADD COLUMN IF NOT EXISTS fields jsonb NOT NULL DEFAULT '{}';
ALTER TABLE rocket_log ADD COLUMN IF NOT EXISTS rockets bigint;
UPDATE rocket_log SET rockets = (SELECT count(*) FROM rocket_channels WHERE state IS NOT NULL)
WHERE rockets IS NULL;
"""
_CHANNEL_COLUMNS = frozenset({"channel", "applied", "highest", "pending", "state", "fields"})
"""The columns of ``rocket_channels``; version 2 had one more per field it sorted on, which
version 3 drops (:meth:`PostgresStore._migrate_fields`)."""
_MIGRATE_BATCH = 5000
_EXPRESSION_STATISTICS = 140000
"""The first server version (``server_version_num``) with statistics on an expression."""
_MESSAGE_COLUMNS = COLUMNS
# Version 1 kept no positions: each channel's applied prefix is numbered, channel after
# channel, as if it had been written so; its events' states were not kept (the follower falls
# back on the rocket's current state for them).
_MIGRATE = """
UPDATE rocket_messages m SET position = p.position
FROM (
    SELECT m.channel, m.number, row_number() OVER (ORDER BY m.channel, m.number) AS position
    FROM rocket_messages m JOIN rocket_channels c USING (channel)
    WHERE m.number <= c.applied
) p
WHERE m.channel = p.channel AND m.number = p.number;
UPDATE rocket_log SET last = (SELECT coalesce(max(position), 0) FROM rocket_messages);
"""
_NOTIFY = "rockets_log"
"""The PostgreSQL channel a commit notifies, so that every process's follower reads what is new."""
_UPDATE_STATES = (
    "UPDATE rocket_channels c SET applied = v.applied, highest = v.highest, "
    "pending = v.pending, state = v.state, fields = v.fields "
    "FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::integer[], %s::bytea[], "
    "%s::jsonb[]) AS v(channel, applied, highest, pending, state, fields) "
    "WHERE c.channel = v.channel"
)
_SET_FIELDS = (
    "UPDATE rocket_channels c SET fields = v.fields FROM unnest(%s::text[], %s::jsonb[]) "
    "AS v(channel, fields) WHERE c.channel = v.channel"
)
_MESSAGE_ARRAYS = (
    "%s::text[], %s::bigint[], %s::text[], %s::text[], %s::text[], %s::bytea[], %s::integer[]"
)
_INSERT_MESSAGES = (
    f"INSERT INTO rocket_messages ({_MESSAGE_COLUMNS}, position, state) SELECT * FROM "
    f"unnest({_MESSAGE_ARRAYS}, %s::bigint[], %s::bytea[])"
)
_LOG_MESSAGES = (
    "WITH log AS (UPDATE rocket_log SET last = last + %s, rockets = rockets + %s "
    "RETURNING last - %s AS base), "
    "received AS ("
    f"INSERT INTO rocket_messages ({_MESSAGE_COLUMNS}, position, state) "
    "SELECT v.channel, v.number, v.type, v.message_time, v.received_at, v.payload, v.version, "
    f"log.base + v.place, v.state FROM unnest({_MESSAGE_ARRAYS}, %s::bigint[], %s::bytea[]) "
    "AS v(channel, number, type, message_time, received_at, payload, version, place, state), "
    "log), "
    "joined AS (UPDATE rocket_messages m SET position = log.base + w.place, state = w.state "
    "FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::bytea[]) "
    "AS w(channel, number, place, state), log "
    "WHERE m.channel = w.channel AND m.number = w.number) "
    "SELECT base FROM log"
)
"""One statement for a group that applied events: the log's row moved on (and locked), with the
number of rockets, the messages received inserted with their positions, those that waited
before given theirs."""
_COUNT_ROCKETS = "UPDATE rocket_log SET rockets = rockets + %s"
"""The number of rockets (channels with a state) is kept, exact, in the log's row: every group
that applies events holds that row until it commits anyway, so that a listing's total costs a
read, not a count of every rocket."""
_FOLLOW_BATCH = 1000
_KEPT = "state IS NOT NULL"
"""A channel is a rocket once it has a state (its first event applied)."""
_TRANSIENT = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)
_BIGINT_MAX = 2**63 - 1
"""No table has more rows, nor a channel more events: a larger limit or offset means as much."""

_encoder = msgspec.json.Encoder()


def _holds_nul(*texts: str | None) -> bool:
    # PostgreSQL text cannot hold NUL, so no kept channel or field has one: a value with it
    # matches nothing, as it matches nothing in the other stores (and psycopg refuses to send
    # it at all).
    return any(text is not None and "\x00" in text for text in texts)


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """``rows`` of ``width`` values as ``width`` columns: the arrays a statement unnests."""
    if not rows:
        return [[] for _ in range(width)]
    return [list(column) for column in zip(*rows, strict=True)]


def _state_row(sequencer: Sequencer, fields: FieldIndex, state: RocketState) -> tuple[Any, ...]:
    return (
        state.channel,
        *sequencer.position(state.channel),
        _encoder.encode(state),
        fields.document(state),
    )


class _PostgresGroup(Group):
    def __init__(
        self,
        conn: psycopg.AsyncConnection[Any],
        sequencer: Sequencer,
        states: dict[str, RocketState],
    ) -> None:
        self.sequencer = sequencer
        self._conn = conn
        self._states = states
        self.kept = frozenset(states)
        """The channels that had a state when the group began."""
        self.staged: Commit | None = None

    def state(self, channel: str) -> RocketState | None:
        return self._states.get(channel)

    async def applied(self, channel: str, number: int) -> Record | None:
        cursor = await self._conn.execute(
            f"SELECT {_MESSAGE_COLUMNS} FROM rocket_messages WHERE channel = %s AND number = %s",
            (channel, number),
        )
        row = await cursor.fetchone()
        return None if row is None else record_of(row)

    def stage(self, commit: Commit) -> None:
        self.staged = commit


class _Listing:
    """A listing read in SQL: its filters, and the order of the indexed field it is sorted by
    (None: by channel, the key)."""

    def __init__(
        self, where: list[str], params: list[Any], field: SortedField | None, descending: bool
    ) -> None:
        self.where = where
        self.params = params
        self.field = field
        self.descending = descending

    def statement(
        self, limit: int | None, offset: int, nulls: str | None = None
    ) -> tuple[str, list[Any]]:
        """The statement that reads a page (only the rockets with a value, or only those
        without, when ``nulls`` is ``"apart"`` or ``"only"``)."""
        direction = "DESC" if self.descending else "ASC"
        where = [_KEPT, *self.where]
        field = self.field
        if field is None:
            order = f"channel {direction}"
        elif nulls is None:
            # The order of the field's index, read forwards or backwards (a field that is never
            # null has no nulls to put last).
            last = "NULLS FIRST" if self.descending else "NULLS LAST"
            order = f"{field.expression} {direction} {last}, channel {direction}"
        else:
            where.append(f"{field.expression} IS {'NOT ' if nulls == 'apart' else ''}NULL")
            # (Those without a value are ordered as the index holds them too, so that the
            # planner reads it.)
            order = f"{field.expression} {direction}, channel {direction}"
        clause = "" if limit is None else f" LIMIT {limit}"
        return (
            f"SELECT state FROM rocket_channels WHERE {' AND '.join(where)} "
            f"ORDER BY {order}{clause} OFFSET {offset}",
            self.params,
        )

    async def page(
        self, conn: psycopg.AsyncConnection[Any], limit: int | None, offset: int
    ) -> list[bytes]:
        """The states of a page, encoded."""

        async def read(nulls: str | None, limit: int | None, offset: int) -> list[bytes]:
            cursor = await conn.execute(*self.statement(limit, offset, nulls))
            return [row[0] for row in await cursor.fetchall()]

        field = self.field
        if field is None or not self.descending or not field.nullable:
            return await read(None, limit, offset)
        # Descending with the rockets without a value last: the index read backwards gives
        # them first, so the valued rockets are read, then the others.
        states = await read("apart", limit, offset)
        if limit is not None and len(states) >= limit:
            return states
        if states or not offset:
            valued = offset + len(states)
        else:
            valued = await self.count(conn, f"{field.expression} IS NOT NULL")
        rest = None if limit is None else limit - len(states)
        return states + await read("only", rest, max(0, offset - valued))

    def count_statement(self, *more: str) -> tuple[str, list[Any]]:
        """The statement that counts the rockets the filters (and ``more`` conditions) match."""
        where = " AND ".join([_KEPT, *self.where, *more])
        return f"SELECT count(*) FROM rocket_channels WHERE {where}", self.params

    async def count(self, conn: psycopg.AsyncConnection[Any], *more: str) -> int:
        """How many rockets the filters (and ``more`` conditions) match."""
        cursor = await conn.execute(*self.count_statement(*more))
        row = await cursor.fetchone()
        assert row is not None
        return int(row[0])


class PostgresStore(Store):
    """A store in a PostgreSQL database, shareable by many server processes.

    Args:
        conninfo: a libpq connection string or URL.
        limits: the pending-buffer bounds. The bound per channel holds across processes; the
            bound over all channels is not enforced (counting every channel's buffer would cost
            a scan per group). ``store_timeout`` bounds every wait for a connection (a free one,
            a new one) and, as PostgreSQL's ``statement_timeout``, every statement.
        pool_min, pool_max: connections opened at start, and at most at once.
        open_timeout: how long ``open`` waits for a database that is starting or full
            (seconds); any other failure to connect fails ``open`` at once.

    Raises:
        SettingsError: the pool sizes are wrong, or libpq refuses the connection string.
    """

    name: ClassVar[str] = "postgresql"
    durable: ClassVar[bool] = True
    shared: ClassVar[bool] = True
    keeps_states: ClassVar[bool] = True

    def __init__(
        self,
        conninfo: str,
        limits: Limits,
        pool_min: int = 1,
        pool_max: int = 10,
        open_timeout: float = 30.0,
    ) -> None:
        self.conninfo = conninfo
        self.limits = limits
        self.open_timeout = open_timeout
        self._schema = build_state_schema(())
        self._fields = FieldIndex(self._schema)
        if pool_max < 1 or not 0 <= pool_min <= pool_max:
            raise SettingsError(
                f"ROCKETS_STORE: need 0 <= pool_min <= pool_max and pool_max >= 1 "
                f"(got pool_min={pool_min}, pool_max={pool_max})"
            )
        try:
            params = conninfo_to_dict(conninfo)
        except psycopg.Error as exc:
            raise SettingsError(f"ROCKETS_STORE: {reason(exc)}") from None
        # Given at connection, so that it costs no round trip; first, so that an explicit
        # statement_timeout in the URL's own options still wins.
        timeout_ms = max(1, round(limits.store_timeout * 1000))
        # (Giving options hides libpq's PGOPTIONS, so that is passed on too.)
        given = params.get("options", os.environ.get("PGOPTIONS", ""))
        params["options"] = f"-c statement_timeout={timeout_ms} {given}".strip()
        self._connections = Connections(params, pool_max, pool_min, limits.store_timeout)
        self._listener: psycopg.AsyncConnection[Any] | None = None
        self._closed = False

    @classmethod
    def from_url(cls, url: str, limits: Limits) -> PostgresStore:
        """``postgresql://user:password@host:port/database``; ``pool_min``, ``pool_max`` and
        ``open_timeout`` in the query string are the store's, other parameters go to libpq."""
        parts = urlsplit(url)
        params = dict(parse_qsl(parts.query))
        try:
            pool_min = int(params.pop("pool_min", 1))
            pool_max = int(params.pop("pool_max", 10))
            open_timeout = float(params.pop("open_timeout", 30))
        except ValueError:
            raise SettingsError(
                "ROCKETS_STORE: pool_min, pool_max and open_timeout must be numbers"
            ) from None
        # libpq reads %20 as a space, never '+' (urlencode's default).
        conninfo = urlunsplit(parts._replace(query=urlencode(params, quote_via=quote)))
        return cls(conninfo, limits, pool_min, pool_max, open_timeout)

    async def open(self, schema: StateSchema, fold: Fold, replay: Replay | None = None) -> int:
        # States are kept, not rebuilt: ``fold`` is for ``rockets rebuild``, not for opening,
        # and nothing is read back for ``replay``: projections catch up by following the log.
        self._schema = schema
        self._fields = FieldIndex(schema)
        self._closed = False
        try:
            await self._connections.open(self.open_timeout)
            async with self._connections.connection() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                await conn.execute(_SCHEMA)
                cursor = await conn.execute(
                    "SELECT value FROM rockets_meta WHERE key = 'schema_version'"
                )
                row = await cursor.fetchone()
                if row is not None and int(row[0]) == 1:
                    await conn.execute(_MIGRATE)
                if row is not None and int(row[0]) < 3:
                    await self._migrate_fields(conn)
                if row is None or int(row[0]) <= SCHEMA_VERSION:
                    await self._index_fields(conn)
                    await conn.execute(
                        "INSERT INTO rockets_meta (key, value) VALUES ('schema_version', %s) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (str(SCHEMA_VERSION),),
                    )
                    row = (str(SCHEMA_VERSION),)
        except psycopg.Error as exc:
            await self._connections.close()
            raise StoreError(f"postgresql: cannot open the store: {reason(exc)}") from exc
        assert row is not None
        if int(row[0]) > SCHEMA_VERSION:
            raise StoreError(
                f"postgresql: schema version {row[0]} was written by a newer rockets "
                f"(this one knows {SCHEMA_VERSION})"
            )
        return 0

    async def _migrate_fields(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Version 2 → 3, in the opening transaction: the columns version 2 kept for the
        fields it sorted on are dropped, and every kept state's ``fields`` written from it."""
        cursor = await conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = 'rocket_channels'"
        )
        for (column,) in await cursor.fetchall():
            if column not in _CHANNEL_COLUMNS:
                await conn.execute(
                    sql.SQL("ALTER TABLE rocket_channels DROP COLUMN IF EXISTS {}").format(
                        sql.Identifier(column)
                    )
                )
        after: str | None = None
        decode = self._schema.decoder.decode
        while True:
            cursor = await conn.execute(
                f"SELECT channel, state FROM rocket_channels WHERE {_KEPT} "
                "AND (%s::text IS NULL OR channel > %s) ORDER BY channel LIMIT %s",
                (after, after, _MIGRATE_BATCH),
            )
            rows = await cursor.fetchall()
            if not rows:
                return
            channels, documents = [], []
            for channel, state in rows:
                try:
                    documents.append(self._fields.document(decode(state)))
                except msgspec.ValidationError:
                    # A state this app cannot read: its defaults stand for its fields.
                    continue
                channels.append(channel)
            await conn.execute(_SET_FIELDS, (channels, documents))
            after = rows[-1][0]

    async def _index_fields(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Make the index (and statistics) of every indexed field the app declares that has
        none yet, and drop those of fields it no longer declares (each index costs every
        write)."""
        made = await self._make(
            conn,
            "SELECT indexname FROM pg_indexes "
            "WHERE schemaname = current_schema() AND tablename = 'rocket_channels'",
            self._fields.indexes("rocket_channels"),
            "DROP INDEX IF EXISTS {}",
        )
        if conn.info.server_version >= _EXPRESSION_STATISTICS:
            made |= await self._make(
                conn,
                "SELECT stxname FROM pg_statistic_ext WHERE stxrelid = 'rocket_channels'::regclass",
                self._fields.statistics("rocket_channels"),
                "DROP STATISTICS IF EXISTS {}",
            )
        if made:
            await conn.execute("ANALYZE rocket_channels")

    @staticmethod
    async def _make(
        conn: psycopg.AsyncConnection[Any], present: str, wanted: dict[str, str], drop: str
    ) -> bool:
        """Drop the objects of this store's that ``present`` lists and are not ``wanted``,
        make those ``wanted`` that are missing; whether anything was made."""
        cursor = await conn.execute(present)
        found = {name for (name,) in await cursor.fetchall()}
        for name in sorted(found - wanted.keys()):
            if name.startswith(INDEX_PREFIX):
                await conn.execute(sql.SQL(drop).format(sql.Identifier(name)))
        missing = [statement for name, statement in wanted.items() if name not in found]
        for statement in missing:
            await conn.execute(statement)
        return bool(missing)

    async def close(self) -> None:
        self._closed = True
        listener, self._listener = self._listener, None
        if listener is not None:
            with suppress(psycopg.Error, OSError):
                await listener.close()
        await self._connections.close()

    async def position(self) -> int:
        rows = await self._query("SELECT last FROM rocket_log")
        return int(rows[0][0]) if rows else 0

    async def follow(self, after: int) -> AsyncIterator[list[Applied]]:
        """Every process's events after ``after``: read by position, woken by the commits'
        notifications (and once a second without one, should a notification be lost). While
        the database is down, it waits and tries again."""
        while not self._closed:
            try:
                batch = await self._events_after(after)
                if batch:
                    after = batch[-1].position
                    yield batch
                    continue
                if self._listener is None:
                    self._listener = await self._connections.connect()
                    await self._listener.execute(f"LISTEN {_NOTIFY}")
                async for _ in self._listener.notifies(timeout=1.0, stop_after=1):
                    pass
            except (psycopg.Error, OSError, StoreError):
                listener, self._listener = self._listener, None
                if listener is not None:
                    with suppress(psycopg.Error, OSError):
                        await listener.close()
                if not self._closed:
                    await asyncio.sleep(1.0)

    async def _events_after(self, after: int) -> list[Applied]:
        rows = await self._query(
            f"SELECT m.position, {', '.join('m.' + c for c in COLUMNS.split(', '))}, "
            "coalesce(m.state, c.state) FROM rocket_messages m JOIN rocket_channels c "
            "USING (channel) WHERE m.position > %s ORDER BY m.position LIMIT %s",
            (after, _FOLLOW_BATCH),
        )
        decode = self._schema.decoder.decode
        return [Applied(row[0], record_of(row[1:8]), decode(row[8])) for row in rows]

    async def load_projection(self, name: str) -> tuple[int, int, bytes] | None:
        rows = await self._query(
            "SELECT version, position, value FROM rocket_projections WHERE name = %s", (name,)
        )
        return None if not rows else (int(rows[0][0]), int(rows[0][1]), bytes(rows[0][2]))

    async def save_projection(self, name: str, version: int, position: int, value: bytes) -> None:
        # Every process folds the same log to the same value: the furthest one is kept.
        await self._query(
            "INSERT INTO rocket_projections (name, version, position, value) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (name) DO UPDATE SET version = excluded.version, "
            "position = excluded.position, value = excluded.value "
            "WHERE excluded.version <> rocket_projections.version "
            "OR excluded.position > rocket_projections.position RETURNING name",
            (name, version, position, value),
        )

    async def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            async with self._connections.connection() as conn:
                cursor = await conn.execute(sql, params)
                return await cursor.fetchall()
        except psycopg.Error as exc:
            raise StoreError(f"postgresql: {reason(exc)}") from exc

    async def ping(self) -> None:
        await self._query("SELECT 1")

    @asynccontextmanager
    async def group(self, channels: Sequence[str]) -> AsyncIterator[Group]:
        # In pipeline mode, what needs no answer before the next statement goes in one round
        # trip: BEGIN with the statement that locks the channels, then every write, the
        # notification and COMMIT together. A group costs two round trips (three when some of
        # its channels have messages waiting), where one per statement cost seven.
        try:
            async with self._connections.connection() as conn:
                async with conn.pipeline(), conn.transaction():
                    group = await self._lock(conn, channels)
                    yield group
                    staged, logged = group.staged, None
                    if staged is not None:
                        logged = await self._write(conn, group, staged)
                if staged is not None and logged is not None:
                    # Answered with the COMMIT: where the log stood before this group's events.
                    row = await logged.fetchone()
                    assert row is not None
                    first = int(row[0]) + 1
                    group.positions = range(first, first + len(staged.applied))
        except _TRANSIENT as exc:
            raise TransientStoreError(f"postgresql: {reason(exc)}") from exc
        except psycopg.Error as exc:
            raise StoreError(f"postgresql: {reason(exc)}") from exc

    async def _lock(
        self, conn: psycopg.AsyncConnection[Any], channels: Sequence[str]
    ) -> _PostgresGroup:
        # One statement creates missing rows and locks them all, in channel order (so that
        # processes never wait on each other in a cycle); the no-op update is what locks an
        # existing row, and RETURNING then sees its latest committed version.
        cursor = await conn.execute(
            "INSERT INTO rocket_channels AS c (channel) SELECT unnest(%s::text[]) ORDER BY 1 "
            "ON CONFLICT (channel) DO UPDATE SET pending = c.pending "
            "RETURNING channel, applied, highest, pending, state",
            (list(channels),),
        )
        # The bound over all channels is not enforced here: see the class docstring.
        sequencer = Sequencer(self.limits.max_pending_per_channel, sys.maxsize)
        states: dict[str, RocketState] = {}
        waiting: list[tuple[str, int]] = []
        positions: dict[str, tuple[int, int]] = {}
        for channel, applied, highest, pending, state in await cursor.fetchall():
            positions[channel] = (applied, highest)
            if state is not None:
                states[channel] = self._schema.decoder.decode(state)
            if pending:
                waiting.append((channel, applied))
        held: dict[str, list[Record]] = {}
        if waiting:
            cursor = await conn.execute(
                f"SELECT {', '.join('m.' + c for c in _MESSAGE_COLUMNS.split(', '))} "
                "FROM rocket_messages m JOIN unnest(%s::text[], %s::bigint[]) AS w(channel, "
                "applied) ON m.channel = w.channel WHERE m.number > w.applied",
                ([c for c, _ in waiting], [a for _, a in waiting]),
            )
            for row in await cursor.fetchall():
                record = record_of(row)
                held.setdefault(record.channel, []).append(record)
        for channel, (applied, highest) in positions.items():
            sequencer.load(channel, applied, highest, held.get(channel, ()))
        return _PostgresGroup(conn, sequencer, states)

    async def _write(
        self, conn: psycopg.AsyncConnection[Any], group: _PostgresGroup, commit: Commit
    ) -> psycopg.AsyncCursor[Any] | None:
        """Queue the group's writes (whole arrays in one statement each) and its notification;
        the cursor whose one row is where the log stood before this group's events, or None
        when it applied none."""
        sequencer = group.sequencer
        new = 0
        if commit.states:
            rows = [_state_row(sequencer, self._fields, s) for s in commit.states]
            await conn.execute(_UPDATE_STATES, _columns(rows, 6))
            new = len({s.channel for s in commit.states} - group.kept)
        if not commit.applied:
            if commit.received:
                rows = [(*message_row(r), None, None) for r in commit.received]
                await conn.execute(_INSERT_MESSAGES, _columns(rows, 9))
            if new:
                await conn.execute(_COUNT_ROCKETS, (new,))
            return None
        # Each applied event's place among this group's (1, 2, 3…) and the state after it; the
        # statement adds where the log stood, taken from its one row, locked until COMMIT, so
        # that positions are committed in the order they are taken and a follower never sees a
        # later one before an earlier.
        encode = _encoder.encode
        places = {
            (record.channel, record.message_number): (place, encode(state))
            for place, (record, state) in enumerate(
                zip(commit.applied, commit.after, strict=True), start=1
            )
        }
        received = []
        for record in commit.received:
            place, state = places.pop((record.channel, record.message_number), (None, None))
            received.append((*message_row(record), place, state))
        # What is left waited behind a gap in an earlier group: it joins the log now.
        joined = [
            (channel, number, place, state) for (channel, number), (place, state) in places.items()
        ]
        count = len(commit.applied)
        logged = await conn.execute(
            _LOG_MESSAGES, [count, new, count, *_columns(received, 9), *_columns(joined, 4)]
        )
        await conn.execute(f"NOTIFY {_NOTIFY}")
        return logged

    async def rocket(self, channel: str) -> RocketState | None:
        if _holds_nul(channel):
            return None
        rows = await self._query(
            "SELECT state FROM rocket_channels WHERE channel = %s AND state IS NOT NULL",
            (channel,),
        )
        return self._schema.decoder.decode(rows[0][0]) if rows else None

    def _listing(self, query: RocketQuery) -> _Listing | None:
        """How ``query`` is read in SQL; None when it sorts or filters on a field that is not
        indexed."""
        fields = self._fields
        where, params, rest = fields.conditions(query.filters())
        by_key = query.sort == fields.key or query.sort not in self._schema.fields
        field = None if by_key else fields.fields.get(query.sort)
        if rest or (field is None and not by_key):
            return None
        return _Listing(where, params, field, query.order == "desc")

    async def rockets(self, query: RocketQuery) -> tuple[int, list[RocketState]]:
        decode = self._schema.decoder.decode
        listing = self._listing(query)
        if listing is None:
            # Select in Python, among the rockets the indexed filters leave.
            where, params, _ = self._fields.conditions(query.filters())
            condition = " AND ".join([_KEPT, *where])
            rows = await self._query(f"SELECT state FROM rocket_channels WHERE {condition}", params)
            return select((decode(row[0]) for row in rows), query, self._schema)
        offset = min(int(query.offset), _BIGINT_MAX)
        limit = None if query.limit is None else min(int(query.limit), _BIGINT_MAX)
        try:
            async with self._snapshot() as conn:
                states = await listing.page(conn, limit, offset)
                if states and (limit is None or len(states) < limit):
                    total = offset + len(states)  # the page reached the end: nothing to count
                elif listing.where:
                    total = await listing.count(conn)
                else:
                    total = await self._kept(conn)
        except psycopg.Error as exc:
            raise StoreError(f"postgresql: {reason(exc)}") from exc
        return total, [decode(state) for state in states]

    @asynccontextmanager
    async def _snapshot(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection in a read-only transaction that sees one snapshot: a page and the
        count of what matched agree, whatever is written meanwhile."""
        async with self._connections.connection() as conn, conn.transaction():
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield conn

    async def events(self, channel: str, start: int, limit: int) -> list[Record]:
        if _holds_nul(channel) or start > _BIGINT_MAX:
            return []
        limit = min(limit, _BIGINT_MAX)
        rows = await self._query(
            f"SELECT {_MESSAGE_COLUMNS} FROM rocket_messages WHERE channel = %s AND number >= %s "
            "AND number <= (SELECT applied FROM rocket_channels WHERE channel = %s) "
            "ORDER BY number LIMIT %s",
            (channel, start, channel, limit),
        )
        return [record_of(row) for row in rows]

    async def waiting(self) -> list[RocketState]:
        rows = await self._query(f"SELECT state FROM rocket_channels WHERE pending > 0 AND {_KEPT}")
        return [self._schema.decoder.decode(row[0]) for row in rows]

    async def count(self) -> int:
        try:
            async with self._connections.connection() as conn:
                return await self._kept(conn)
        except psycopg.Error as exc:
            raise StoreError(f"postgresql: {reason(exc)}") from exc

    @staticmethod
    async def _kept(conn: psycopg.AsyncConnection[Any]) -> int:
        """How many rockets there are: kept in the log's row (see :data:`_COUNT_ROCKETS`)."""
        cursor = await conn.execute("SELECT rockets FROM rocket_log")
        row = await cursor.fetchone()
        return 0 if row is None else int(row[0])

    async def received(self) -> AsyncIterator[Record]:
        rows = await self._query(
            f"SELECT {_MESSAGE_COLUMNS} FROM rocket_messages ORDER BY channel, number"
        )
        for row in rows:
            yield record_of(row)
