"""The PostgreSQL store: durable, and shared by any number of server processes and machines.

Nothing is kept in the process but what is checked against the database before it is used (a
state this process wrote, by its row's stamp): the database is the only truth, so every process
answers every read alike. Two tables hold everything:

- ``rocket_messages``: every accepted message, applied or waiting, keyed by (channel, number).
  The key makes a duplicate impossible across processes.
- ``rocket_channels``: one row per channel with its applied prefix, highest number, pending
  count and current state: the state exactly as encoded (``state``; a large one as of an
  earlier event, ``state_at``, see :mod:`rockets.stores.postgres_states`), and its scalar fields
  in sortable form (``fields``, jsonb), with an expression index per field made at start from the
  app's state type (:mod:`rockets.stores.fields`). No field and no message type is named here:
  the standard fields are sorted and filtered as a plugin's are.

Two more spare reads from walking them: ``rocket_snapshots``, the state right after some events,
which replays start from (:mod:`rockets.stores.postgres_states`), and ``rocket_gaps``, the
waiting messages counted by when they began to wait (:mod:`rockets.stores.postgres_gaps`).

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
import math
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from typing import Any, ClassVar, NamedTuple
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import msgspec

from rockets.core.rocket_index import select
from rockets.core.sequencer import Sequencer
from rockets.core.state_schema import StateSchema, build_state_schema
from rockets.errors import SettingsError, StoreError, TransientStoreError
from rockets.records import Applied, Record
from rockets.settings import Limits
from rockets.state import RocketState
from rockets.stores import postgres_gaps
from rockets.stores.base import Backlog, Commit, Fold, Group, Replay, Store, Waiting
from rockets.stores.connections import Connections, reason, session_options
from rockets.stores.fields import INDEX_PREFIX, FieldIndex, SortedField
from rockets.stores.postgres_gaps import Gap, GapCounts
from rockets.stores.postgres_states import (
    LARGE_STATE,
    WRITTEN_EVERY,
    Mark,
    RecentStates,
    snapshot_due,
)
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


SCHEMA_VERSION = 4
_SCHEMA_LOCK = 727_001  # pg_advisory_xact_lock key: one process creates the schema at a time

# "C" collation: text sorts by code point, as the in-memory stores sort it.
_TABLES = """
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
ALTER TABLE rocket_channels ADD COLUMN IF NOT EXISTS stamp bigint NOT NULL DEFAULT 0;
ALTER TABLE rocket_channels ADD COLUMN IF NOT EXISTS state_at bigint;
ALTER TABLE rocket_channels ADD COLUMN IF NOT EXISTS snapshot bigint NOT NULL DEFAULT 0;
ALTER TABLE rocket_channels ADD COLUMN IF NOT EXISTS unsnapped bigint NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS rocket_snapshots (
    channel text COLLATE "C" NOT NULL,
    number bigint NOT NULL,
    state bytea NOT NULL,
    PRIMARY KEY (channel, number)
);
"""
_SCHEMA = _TABLES + postgres_gaps.SCHEMA
_CHANNEL_COLUMNS = frozenset(
    {
        "channel",
        "applied",
        "highest",
        "pending",
        "state",
        "fields",
        "stamp",
        "state_at",
        "snapshot",
        "unsnapped",
        "waiting_since",
        "held",
    }
)
"""The columns of ``rocket_channels``; version 2 had one more per field it sorted on, which
version 3 drops (:meth:`PostgresStore._migrate_fields`)."""
_MIGRATE_BATCH = 5000
_EXPRESSION_STATISTICS = 140000
"""The first server version (``server_version_num``) with statistics on an expression."""
_MESSAGE_COLUMNS = COLUMNS
# Version 1 kept no positions: each channel's applied prefix is numbered, channel after
# channel, as if it had been written so.
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
# Version 3 kept the state after every event (version 4 keeps snapshots: see
# rockets.stores.postgres_states) and measured waits on the writers' clocks. Its messages
# waiting behind a gap are taken as received when their writer said (on the database's clock
# no later than now), and their gaps counted.
_MIGRATE_STATES = """
ALTER TABLE rocket_messages DROP COLUMN IF EXISTS state;
UPDATE rocket_messages m SET arrived = least(m.received_at::timestamptz, now())
FROM rocket_channels c
WHERE m.channel = c.channel AND c.pending > 0 AND m.number > c.applied;
UPDATE rocket_channels c SET waiting_since = w.since, held = w.held
FROM (
    SELECT m.channel, min(m.arrived) AS since, bool_or(m.number = c.applied + 1) AS held
    FROM rocket_messages m JOIN rocket_channels c USING (channel)
    WHERE c.pending > 0 AND m.number > c.applied
    GROUP BY m.channel
) w
WHERE c.channel = w.channel;
"""
_GAPS_OF = (
    "SELECT c.channel, c.waiting_since, c.pending, c.held, "
    "(SELECT coalesce(sum(length(m.payload)), 0) FROM rocket_messages m "
    "WHERE m.channel = c.channel AND m.number > c.applied) "
    "FROM rocket_channels c WHERE c.pending > 0 AND c.waiting_since IS NOT NULL "
    "AND (%s::text IS NULL OR c.channel > %s) ORDER BY c.channel LIMIT %s"
)
"""A page of the channels with messages waiting, and their gaps as counted (to count them all
once, when the counters are new)."""
_NOTIFY = "rockets_log"
"""The PostgreSQL channel a commit notifies, so that every process's follower reads what is new."""
_UPDATE_STATES = (
    "UPDATE rocket_channels c SET applied = v.applied, highest = v.highest, "
    "pending = v.pending, state = coalesce(v.state, c.state), "
    "state_at = CASE WHEN v.state IS NULL THEN coalesce(c.state_at, c.applied) END, "
    "stamp = c.stamp + 1, fields = v.fields, waiting_since = v.since, "
    "held = v.held, snapshot = v.snapshot, unsnapped = v.unsnapped "
    "FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::integer[], %b::bytea[], "
    "%b::jsonb[], %s::timestamptz[], %s::boolean[], %s::bigint[], %s::bigint[]) "
    "AS v(channel, applied, highest, pending, state, fields, since, held, snapshot, unsnapped) "
    "WHERE c.channel = v.channel"
)
_STATE_COLUMNS = 10
_KEEP_SNAPSHOTS = (
    "INSERT INTO rocket_snapshots (channel, number, state) "
    "SELECT * FROM unnest(%s::text[], %s::bigint[], %b::bytea[]) "
    "ON CONFLICT (channel, number) DO UPDATE SET state = excluded.state"
)
_DROP_SNAPSHOTS = "DELETE FROM rocket_snapshots WHERE channel = ANY(%s::text[])"
_KEPT_STATES = (
    "SELECT w.channel, s.number, s.state FROM unnest(%s::text[], %s::bigint[]) AS w(channel, "
    "number) JOIN LATERAL (SELECT number, state FROM rocket_snapshots s WHERE s.channel = "
    "w.channel AND s.number <= w.number ORDER BY s.number DESC LIMIT 1) s ON true"
)
"""The nearest snapshot at or before each (channel, number)."""
_EVENTS_BETWEEN = (
    f"SELECT {', '.join('m.' + c for c in COLUMNS.split(', '))} FROM rocket_messages m "
    "JOIN unnest(%s::text[], %s::bigint[], %s::bigint[]) AS w(channel, first, last) "
    "ON m.channel = w.channel AND m.number BETWEEN w.first AND w.last "
    "ORDER BY m.channel, m.number"
)
_SET_FIELDS = (
    "UPDATE rocket_channels c SET fields = v.fields FROM unnest(%s::text[], %b::jsonb[]) "
    "AS v(channel, fields) WHERE c.channel = v.channel"
)
_MESSAGE_ARRAYS = (
    "%s::text[], %s::bigint[], %s::text[], %s::text[], %s::text[], %b::bytea[], %s::integer[]"
)
_INSERT_MESSAGES = (
    f"INSERT INTO rocket_messages ({_MESSAGE_COLUMNS}) SELECT * FROM unnest({_MESSAGE_ARRAYS})"
)
_LOG_MESSAGES = (
    "WITH log AS (UPDATE rocket_log SET last = last + %s, rockets = rockets + %s "
    "RETURNING last - %s AS base), "
    "received AS ("
    f"INSERT INTO rocket_messages ({_MESSAGE_COLUMNS}, position) "
    "SELECT v.channel, v.number, v.type, v.message_time, v.received_at, v.payload, v.version, "
    f"log.base + v.place FROM unnest({_MESSAGE_ARRAYS}, %s::bigint[]) "
    "AS v(channel, number, type, message_time, received_at, payload, version, place), "
    "log), "
    "joined AS (UPDATE rocket_messages m SET position = log.base + w.place "
    "FROM unnest(%s::text[], %s::bigint[], %s::bigint[]) AS w(channel, number, place), log "
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
_FOLLOW_BYTES = 16 * 1024 * 1024
"""About how many bytes of states (as encoded) one batch of the follower holds at most: a batch
ends early rather than hold a thousand copies of a large state."""
_TOTALS_AGE = 1.0
"""Seconds the waiting messages counted over all channels are taken as they were read (plus
this process's own changes) before they are read again: the bound over all channels is checked
against a total at most that old."""
_KEPT = "state IS NOT NULL"
_STORED = "channel, state, coalesce(state_at, applied), applied"
"""What a read of states takes of a row: the state as written, the event it is the state right
after (the last applied, unless it is large: see rockets.stores.postgres_states), and the last
applied."""
_WAITING_PAGE = postgres_gaps.PAGE.replace("{columns}", _STORED)
"""A channel is a rocket once it has a state (its first event applied)."""
_TRANSIENT = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)
_BIGINT_MAX = 2**63 - 1
_LONGEST_WAIT = 1e9
"""Seconds no message has waited (31 years): a longer wait asked for lists only those set aside."""
"""No table has more rows, nor a channel more events: a larger limit or offset means as much."""

_encoder = msgspec.json.Encoder()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


_Known = tuple[int, RocketState, int]
"""A channel's state right after an event: the event's number, the state, its size encoded."""


class _Locked(NamedTuple):
    """A channel's row as the statement that locks it answers."""

    channel: str
    applied: int
    highest: int
    pending: int
    state: bytes | None
    """None as well when this process keeps it already (by its stamp)."""
    at: int
    """The event the state was written at (see :data:`_STORED`)."""
    stamp: int
    since: datetime | None
    held: bool
    snapshot: int
    unsnapped: int
    now: datetime


class _Found(NamedTuple):
    """A channel's row as a group found it: its gap as counted, where it stands towards its
    next snapshot, and the event its state was written at."""

    gap: Gap | None
    mark: Mark
    at: int


async def _answered(pipeline: psycopg.AsyncPipeline) -> None:
    """Wait for the answers to what the pipeline sent, with a Sync rather than the mere flush a
    fetch sends: PostgreSQL counts a session idle in its transaction, and ends it after
    ``idle_in_transaction_session_timeout`` (see :func:`session_options`), only from a Sync on.
    After a flush it counts the session active, with no timeout at all: a process stopped
    while the engine works on its group would hold the group's rows for as long as it stays
    stopped. Still one round trip."""
    await pipeline.sync()


class _PostgresGroup(Group):
    def __init__(
        self,
        conn: psycopg.AsyncConnection[Any],
        pipeline: psycopg.AsyncPipeline,
        sequencer: Sequencer,
        states: dict[str, RocketState],
    ) -> None:
        self.sequencer = sequencer
        self._conn = conn
        self._pipeline = pipeline
        self._states = states
        self.kept = frozenset(states)
        """The channels that had a state when the group began."""
        self.staged: Commit | None = None
        self.found: dict[str, _Found] = {}
        self.arrived: dict[tuple[str, int], datetime] = {}
        """When each message waiting as the group began was received (the database's clock)."""
        self.now = _EPOCH
        """The database's time of the group's transaction: when its new messages are received."""
        self.waiting = 0
        """How many messages the group's counters moved into waiting (less those out of it)."""
        self.waiting_bytes = 0
        self.stamps: dict[str, int] = {}
        """The stamp of each channel's state as the group found it."""
        self.written: list[tuple[str, RocketState, int]] = []
        """Each state the group writes, and its size encoded."""

    def state(self, channel: str) -> RocketState | None:
        return self._states.get(channel)

    async def applied(self, channel: str, number: int) -> Record | None:
        cursor = await self._conn.execute(
            f"SELECT {_MESSAGE_COLUMNS} FROM rocket_messages WHERE channel = %s AND number = %s",
            (channel, number),
        )
        await _answered(self._pipeline)
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
            f"SELECT {_STORED} FROM rocket_channels WHERE {' AND '.join(where)} "
            f"ORDER BY {order}{clause} OFFSET {offset}",
            self.params,
        )

    async def page(
        self, conn: psycopg.AsyncConnection[Any], limit: int | None, offset: int
    ) -> list[tuple[Any, ...]]:
        """The rows of a page (see :data:`_STORED`)."""

        async def read(nulls: str | None, limit: int | None, offset: int) -> list[tuple[Any, ...]]:
            cursor = await conn.execute(*self.statement(limit, offset, nulls))
            return await cursor.fetchall()

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
            bounds over all channels (messages and bytes) hold about: each process checks them
            against the total it read at most a second before (see :data:`_TOTALS_AGE`), plus
            its own changes since, so that processes that open gaps at once may pass them by
            what they open within that second. ``store_timeout`` bounds every wait for a
            connection (a free one, a new one) and, as PostgreSQL's ``statement_timeout``,
            every statement;
            ``store_lock_timeout`` and ``store_idle_timeout`` bound what a stopped peer costs
            (:func:`~rockets.stores.connections.session_options`).
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
        # Giving options hides libpq's PGOPTIONS, so that is passed on too.
        given = params.get("options", os.environ.get("PGOPTIONS", ""))
        params["options"] = session_options(limits, str(given or ""))
        self._connections = Connections(params, pool_max, pool_min, limits.store_timeout)
        self._listener: psycopg.AsyncConnection[Any] | None = None
        self._closed = False
        self._fold: Fold | None = None
        self._recent = RecentStates()
        self._current = RecentStates()
        self._waiting = (0, 0)
        """Messages and bytes waiting over all channels, as last counted (see _TOTALS_AGE)."""
        self._waiting_until = -math.inf

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
        self._fold = fold
        self._recent = RecentStates()
        self._current = RecentStates()
        self._waiting_until = -math.inf
        self._closed = False
        try:
            await self._connections.open(self.open_timeout)
            async with self._connections.connection() as conn, conn.transaction():
                # Another process may be migrating: wait for it as long as for the database
                # itself, not a request's time.
                wait = f"{max(1, round(self.open_timeout * 1000))}ms"
                await conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(wait))
                await conn.execute(sql.SQL("SET LOCAL statement_timeout = {}").format(wait))
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                await conn.execute(_SCHEMA)
                cursor = await conn.execute(
                    "SELECT value FROM rockets_meta WHERE key = 'schema_version'"
                )
                row = await cursor.fetchone()
                if row is not None and int(row[0]) < SCHEMA_VERSION:
                    # A migration reads every row once: as long as it takes, not a request's
                    # time (other processes wait for the schema lock meanwhile).
                    await conn.execute("SET LOCAL statement_timeout = 0")
                if row is not None and int(row[0]) == 1:
                    await conn.execute(_MIGRATE)
                if row is not None and int(row[0]) < 3:
                    await self._migrate_fields(conn)
                if row is not None and int(row[0]) < 4:
                    await self._write_documents(conn)
                    await conn.execute(_MIGRATE_STATES)
                    await self._count_gaps(conn)
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
        fields it sorted on are dropped (every kept state's ``fields`` is written from it on the
        way to version 4)."""
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

    async def _write_documents(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Every kept state's ``fields`` written from it, in the opening transaction (version
        4 keeps a long string as its prefix and digest: see :mod:`rockets.stores.fields`)."""
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

    async def _count_gaps(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Version 3 → 4, in the opening transaction: every open gap counted."""
        after: str | None = None
        while True:
            cursor = await conn.execute(_GAPS_OF, (after, after, _MIGRATE_BATCH))
            rows = await cursor.fetchall()
            if not rows:
                return
            counts = GapCounts()
            for channel, since, pending, held, size in rows:
                counts.move(channel, None, Gap(since, pending, int(size), held))
            for statement, params in counts.statements():
                await conn.execute(statement, params)
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
        """The next events of the log, each with the state right after it: the channel's
        current state for its last event, else folded onto the state after the event before
        (see :mod:`rockets.stores.postgres_states`)."""
        rows = await self._query(
            f"SELECT m.position, {', '.join('m.' + c for c in COLUMNS.split(', '))}, "
            "CASE WHEN m.number = c.applied THEN c.stamp END FROM rocket_messages m "
            "JOIN rocket_channels c USING (channel) WHERE m.position > %s "
            "ORDER BY m.position LIMIT %s",
            (after, _FOLLOW_BATCH),
        )
        events = [(row[0], record_of(row[1:8]), row[8]) for row in rows]
        # Per channel, what its first event here starts from: (number, state, size) of that
        # event when it is the channel's last, else of the event before it.
        starts: dict[str, _Known] = {}
        stored: dict[str, int] = {}
        wanted: dict[str, int] = {}
        seen: set[str] = set()
        for _, record, stamp in events:
            channel, number = record.channel, record.message_number
            if channel in seen:
                continue
            seen.add(channel)
            if stamp is not None:
                kept = self._current.get(channel, stamp)
                if kept is None:
                    stored[channel] = number
                else:
                    starts[channel] = (number, *kept)
            elif number > 1:
                kept = self._recent.get(channel, number - 1)
                if kept is None:
                    wanted[channel] = number - 1
                else:
                    starts[channel] = (number - 1, *kept)
        if stored:
            read = await self._last_states(stored)
            starts.update(read)
            wanted.update((c, n - 1) for c, n in stored.items() if c not in read and n > 1)
        if wanted:
            starts.update(await self._recall(wanted))
        batch: list[Applied] = []
        held = 0
        for position, record, _ in events:
            channel, number = record.channel, record.message_number
            start = starts.get(channel)
            if start is not None and start[0] == number:
                state, size = start[1], start[2]
            else:
                if start is None:
                    start = (0, self._schema.initial(channel), 0)
                state = await self._fold_one(start[1], record)
                size = start[2] + len(record.payload)
            starts[channel] = (number, state, size)
            self._recent.put(channel, number, state, size)
            batch.append(Applied(position, record, state))
            held += size
            if held >= _FOLLOW_BYTES:
                break
        return batch

    async def _last_states(self, last: dict[str, int]) -> dict[str, _Known]:
        """The current state of each channel whose last event is ``last[channel]``, read
        (those whose log went on since are left out)."""
        rows = await self._query(
            f"SELECT {_STORED}, stamp FROM rocket_channels WHERE channel = ANY(%s::text[]) "
            "AND state IS NOT NULL",
            (list(last),),
        )
        rows = [row for row in rows if row[3] == last[row[0]]]
        read = {}
        for row, state in zip(rows, await self._completed(rows), strict=True):
            size = len(row[1])  # (about, for a large state written earlier)
            self._current.put(state.channel, row[4], state, size)
            read[state.channel] = (row[3], state, size)
        return read

    async def _recall(self, wanted: dict[str, int]) -> dict[str, _Known]:
        """The state right after event ``wanted[channel]`` of each channel (and its size, about),
        folded from the nearest snapshot at or before it (from the first event without one)."""
        channels = list(wanted)
        numbers = [wanted[channel] for channel in channels]
        try:
            async with self._connections.connection() as conn:
                cursor = await conn.execute(_KEPT_STATES, (channels, numbers))
                kept = {row[0]: (int(row[1]), bytes(row[2])) for row in await cursor.fetchall()}
                firsts = [kept[c][0] + 1 if c in kept else 1 for c in channels]
                cursor = await conn.execute(_EVENTS_BETWEEN, (channels, firsts, numbers))
                rows = await cursor.fetchall()
        except psycopg.Error as exc:
            raise StoreError(f"postgresql: {reason(exc)}") from exc
        events: dict[str, list[Record]] = {}
        for row in rows:
            record = record_of(row)
            events.setdefault(record.channel, []).append(record)
        decode = self._schema.decoder.decode
        recalled = {}
        for channel, number in wanted.items():
            found = kept.get(channel)
            state = self._schema.initial(channel) if found is None else decode(found[1])
            size = 0 if found is None else len(found[1])
            for record in events.get(channel, ()):
                state = await self._fold_one(state, record)
                size += len(record.payload)
            recalled[channel] = (number, state, size)
        return recalled

    async def _fold_one(self, state: RocketState, record: Record) -> RocketState:
        """The state right after ``record``, folded onto ``state``, the one before it."""
        fold = self._fold
        assert fold is not None, "the store is not open"
        try:
            return fold(state, [record])
        except Exception:
            # An event this process's plugins cannot fold (another process wrote it with a
            # plugin this one lacks): the rocket's current state stands for its own.
            current = await self.rocket(record.channel)
            return current or state

    async def kept_state(self, channel: str, number: int) -> tuple[int, RocketState] | None:
        if _holds_nul(channel) or number < 1:
            return None
        number = min(number, _BIGINT_MAX)
        rows = await self._query(
            "(SELECT number, state FROM rocket_snapshots WHERE channel = %s AND number <= %s "
            "ORDER BY number DESC LIMIT 1) UNION ALL (SELECT coalesce(state_at, applied), state "
            "FROM rocket_channels WHERE channel = %s AND coalesce(state_at, applied) "
            "BETWEEN 1 AND %s AND state IS NOT NULL) "
            "ORDER BY 1 DESC LIMIT 1",
            (channel, number, channel, number),
        )
        return (int(rows[0][0]), self._schema.decoder.decode(rows[0][1])) if rows else None

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
        # its channels have messages waiting), where one per statement cost seven. BEGIN and
        # COMMIT are sent as statements: psycopg's transaction block waits for an answer to
        # each (two round trips more); a group that fails leaves its transaction open, and the
        # pool closes such a connection rather than keep it.
        kept: list[str] = []
        try:
            try:
                async with self._connections.connection() as conn:
                    if asyncio.get_running_loop().time() >= self._waiting_until:
                        await self._count_waiting(conn)
                    async with conn.pipeline() as pipeline:
                        await conn.execute("BEGIN")
                        group = await self._lock(conn, pipeline, channels)
                        yield group
                        staged, logged = group.staged, None
                        if staged is not None:
                            logged = await self._write(conn, group, staged)
                            # Kept before COMMIT is answered, so that the follower, which the
                            # commit wakes, finds them; forgotten if the group fails.
                            kept = self._keep(group)
                        await conn.execute("COMMIT")
                    if staged is not None and logged is not None:
                        # Answered with the COMMIT: where the log stood before the group's events.
                        row = await logged.fetchone()
                        assert row is not None
                        first = int(row[0]) + 1
                        group.positions = range(first, first + len(staged.applied))
            except BaseException:
                self._current.forget(kept)
                raise
            if group.waiting or group.waiting_bytes:
                messages, size = self._waiting
                self._waiting = messages + group.waiting, size + group.waiting_bytes
        except _TRANSIENT as exc:
            raise TransientStoreError(f"postgresql: {reason(exc)}") from exc
        except psycopg.Error as exc:
            raise StoreError(f"postgresql: {reason(exc)}") from exc

    async def _lock(
        self,
        conn: psycopg.AsyncConnection[Any],
        pipeline: psycopg.AsyncPipeline,
        channels: Sequence[str],
    ) -> _PostgresGroup:
        # One statement creates missing rows and locks them all, in channel order (so that
        # processes never wait on each other in a cycle); the no-op update is what locks an
        # existing row, and RETURNING then sees its latest committed version.
        # A state this process wrote and still keeps is not read again (see
        # rockets.stores.postgres_states): the row answers it by its stamp alone.
        # (Taken now: a follower may keep another version of one meanwhile.)
        current = self._current.taken(channels)
        kept = {channel: version for channel, (version, _, _) in current.items()}
        cursor = await conn.execute(
            "INSERT INTO rocket_channels AS c (channel) SELECT unnest(%s::text[]) ORDER BY 1 "
            "ON CONFLICT (channel) DO UPDATE SET pending = c.pending "
            "RETURNING channel, applied, highest, pending, CASE WHEN c.stamp = "
            "(%s::jsonb ->> c.channel)::bigint THEN NULL ELSE c.state END, "
            "coalesce(state_at, applied), stamp, waiting_since, held, snapshot, unsnapped, now()",
            (list(channels), _encoder.encode(kept).decode()),
        )
        await _answered(pipeline)
        rows = [_Locked(*row) for row in await cursor.fetchall()]
        states: dict[str, RocketState] = {}
        sizes: dict[str, int] = {}
        behind: dict[str, tuple[int, int]] = {}
        for row in rows:
            channel = row.channel
            if row.state is None and channel in current:
                _, states[channel], sizes[channel] = current[channel]
            elif row.state is not None:
                states[channel] = self._schema.decoder.decode(row.state)
                sizes[channel] = len(row.state)
                if row.at < row.applied:
                    behind[channel] = (row.at, row.applied)
        waiting = [(row.channel, row.applied) for row in rows if row.pending]
        pending = None
        if waiting:
            pending = await conn.execute(
                f"SELECT {', '.join('m.' + c for c in _MESSAGE_COLUMNS.split(', '))}, m.arrived "
                "FROM rocket_messages m JOIN unnest(%s::text[], %s::bigint[]) AS w(channel, "
                "applied) ON m.channel = w.channel WHERE m.number > w.applied",
                ([c for c, _ in waiting], [a for _, a in waiting]),
            )
        tails = None
        if behind:
            channels_behind = list(behind)
            tails = await conn.execute(
                _EVENTS_BETWEEN,
                (
                    channels_behind,
                    [behind[c][0] + 1 for c in channels_behind],
                    [behind[c][1] for c in channels_behind],
                ),
            )
        held: dict[str, list[Record]] = {}
        arrived: dict[tuple[str, int], datetime] = {}
        if pending is not None or tails is not None:
            await _answered(pipeline)
        if pending is not None:
            for message in await pending.fetchall():
                record = record_of(message[:-1])
                held.setdefault(record.channel, []).append(record)
                arrived[record.channel, record.message_number] = message[-1]
        if tails is not None:
            later: dict[str, list[Record]] = {}
            for event in await tails.fetchall():
                record = record_of(event)
                later.setdefault(record.channel, []).append(record)
            for channel, records in later.items():
                states[channel] = self._folded(states[channel], records)
        found: dict[str, _Found] = {}
        for row in rows:
            waited = held.get(row.channel, ())
            gap = None
            if row.pending and row.since is not None:
                gap = Gap(row.since, row.pending, sum(len(r.payload) for r in waited), row.held)
            mark = Mark(row.snapshot, row.unsnapped, sizes.get(row.channel, 0))
            found[row.channel] = _Found(gap, mark, row.at)
        # The bounds over all channels: what waits elsewhere, as this process last counted it.
        limits = self.limits
        here = [f.gap for f in found.values() if f.gap is not None]
        messages, size = self._waiting
        messages -= sum(gap.messages for gap in here)
        size -= sum(gap.size for gap in here)
        sequencer = Sequencer(
            limits.max_pending_per_channel,
            max(0, limits.max_pending_total - max(0, messages)),
            max(0, limits.max_pending_bytes - max(0, size)),
        )
        for row in rows:
            sequencer.load(row.channel, row.applied, row.highest, held.get(row.channel, ()))
        group = _PostgresGroup(conn, pipeline, sequencer, states)
        group.found = found
        group.arrived = arrived
        group.now = rows[0].now
        group.stamps = {row.channel: row.stamp for row in rows}
        return group

    def _keep(self, group: _PostgresGroup) -> list[str]:
        """Keep the states ``group`` writes, by the stamps they will have; their channels."""
        stamps, current = group.stamps, self._current
        for channel, state, size in group.written:
            current.put(channel, stamps[channel] + 1, state, size)
        return [channel for channel, _, _ in group.written]

    async def _count_waiting(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Read again the messages (and bytes) waiting over all channels."""
        cursor = await conn.execute(postgres_gaps.TOTALS)
        row = await cursor.fetchone()
        assert row is not None
        self._waiting = int(row[2]), int(row[3])
        self._waiting_until = asyncio.get_running_loop().time() + _TOTALS_AGE

    async def _write(
        self, conn: psycopg.AsyncConnection[Any], group: _PostgresGroup, commit: Commit
    ) -> psycopg.AsyncCursor[Any] | None:
        """Queue the group's writes (whole arrays in one statement each) and its notification;
        the cursor whose one row is where the log stood before this group's events, or None
        when it applied none."""
        encode = _encoder.encode
        marks = {channel: found.mark for channel, found in group.found.items()}
        # The state right after an event is kept where a snapshot is due (its payload counted).
        snapshots: list[tuple[str, int, bytes]] = []
        for record, after in zip(commit.applied, commit.after, strict=True):
            channel, number = record.channel, record.message_number
            mark = marks[channel]
            mark = mark._replace(unsnapped=mark.unsnapped + len(record.payload))
            if snapshot_due(number, mark):
                encoded = encode(after)
                snapshots.append((channel, number, encoded))
                mark = Mark(number, 0, len(encoded))
            marks[channel] = mark
        applied: dict[str, int] = {}
        for record in commit.applied:
            applied[record.channel] = applied.get(record.channel, 0) + len(record.payload)
        refolded = []
        counts = GapCounts()
        rows = []
        sequencer = group.sequencer
        for state in commit.states:
            channel = state.channel
            before = group.state(channel)
            if (
                channel not in applied
                and before is not None
                and state.with_bookkeeping(before) != before
            ):
                # Changed with no event applied: folded again (rockets rebuild) with plugins
                # that may fold otherwise than those that made its snapshots.
                refolded.append(channel)
                marks[channel] = Mark(0, 0, 0)
            found = group.found[channel]
            gap = self._gap(group, channel)
            counts.move(channel, found.gap, gap)
            # A large state whose events alone changed it is written only every so often:
            # until then its row says which event it is the state after.
            late = (
                before is not None
                and channel in applied
                and found.mark.size > LARGE_STATE
                and state.with_bookkeeping(before) is state
                and sequencer.applied(channel) - found.at < WRITTEN_EVERY
            )
            written = None if late else encode(state)
            size = found.mark.size + applied[channel] if written is None else len(written)
            group.written.append((channel, state, size))
            mark = marks[channel]
            rows.append(
                (
                    channel,
                    *sequencer.position(channel),
                    written,
                    self._fields.document(state),
                    None if gap is None else gap.since,
                    gap is not None and gap.held,
                    mark.snapshot,
                    mark.unsnapped,
                )
            )
        new = 0
        if rows:
            await conn.execute(_UPDATE_STATES, _columns(rows, _STATE_COLUMNS))
            new = len({s.channel for s in commit.states} - group.kept)
        if refolded:
            await conn.execute(_DROP_SNAPSHOTS, (refolded,))
        if snapshots:
            await conn.execute(_KEEP_SNAPSHOTS, _columns(snapshots, 3))
        for statement, params in counts.statements():
            await conn.execute(statement, params)
        group.waiting, group.waiting_bytes = counts.messages, counts.size
        if not commit.applied:
            if commit.received:
                messages = [message_row(r) for r in commit.received]
                await conn.execute(_INSERT_MESSAGES, _columns(messages, 7))
            if new:
                await conn.execute(_COUNT_ROCKETS, (new,))
            return None
        # Each applied event's place among this group's (1, 2, 3…); the statement adds where the
        # log stood, taken from its one row, locked until COMMIT, so that positions are
        # committed in the order they are taken and a follower never sees a later one before
        # an earlier.
        places = {
            (record.channel, record.message_number): place
            for place, record in enumerate(commit.applied, start=1)
        }
        received = [
            (*message_row(record), places.pop((record.channel, record.message_number), None))
            for record in commit.received
        ]
        # What is left waited behind a gap in an earlier group: it joins the log now.
        joined = [(channel, number, place) for (channel, number), place in places.items()]
        count = len(commit.applied)
        logged = await conn.execute(
            _LOG_MESSAGES, [count, new, count, *_columns(received, 8), *_columns(joined, 3)]
        )
        await conn.execute(f"NOTIFY {_NOTIFY}")
        return logged

    @staticmethod
    def _gap(group: _PostgresGroup, channel: str) -> Gap | None:
        """``channel``'s gap as the group leaves it (None: nothing waits): since when its oldest
        waiting message was received, on the database's clock (those received in this group, at
        the group's time)."""
        sequencer = group.sequencer
        waiting = sequencer.pending_records(channel)
        if not waiting:
            return None
        arrived, now = group.arrived, group.now
        return Gap(
            min(arrived.get((channel, r.message_number), now) for r in waiting),
            len(waiting),
            sum(len(r.payload) for r in waiting),
            sequencer.held(channel),
        )

    async def rocket(self, channel: str) -> RocketState | None:
        if _holds_nul(channel):
            return None
        rows = await self._query(
            f"SELECT {_STORED} FROM rocket_channels WHERE channel = %s AND state IS NOT NULL",
            (channel,),
        )
        return (await self._completed(rows))[0] if rows else None

    async def _completed(self, rows: Sequence[Sequence[Any]]) -> list[RocketState]:
        """The current states of rows read as :data:`_STORED`: the events a large state was not
        written at folded onto it (see :mod:`rockets.stores.postgres_states`)."""
        decode = self._schema.decoder.decode
        states = [decode(row[1]) for row in rows]
        behind = {row[0]: (row[2], row[3]) for row in rows if row[2] < row[3]}
        if behind:
            later = await self._tails(behind)
            states = [self._folded(state, later.get(state.channel, ())) for state in states]
        return states

    async def _tails(
        self, behind: dict[str, tuple[int, int]], conn: psycopg.AsyncConnection[Any] | None = None
    ) -> dict[str, list[Record]]:
        """The events of each channel after ``behind[channel][0]`` up to ``[1]``, in order
        (events, once applied, never change: any connection reads them alike)."""
        channels = list(behind)
        params = (channels, [behind[c][0] + 1 for c in channels], [behind[c][1] for c in channels])
        if conn is None:
            rows = await self._query(_EVENTS_BETWEEN, params)
        else:
            cursor = await conn.execute(_EVENTS_BETWEEN, params)
            rows = await cursor.fetchall()
        events: dict[str, list[Record]] = {}
        for row in rows:
            record = record_of(row)
            events.setdefault(record.channel, []).append(record)
        return events

    def _folded(self, state: RocketState, records: Sequence[Record]) -> RocketState:
        """``records`` folded onto ``state`` with this app's plugins."""
        fold = self._fold
        if fold is None or not records:
            return state
        try:
            return fold(state, records)
        except Exception:
            # Events this process's plugins cannot fold (another process wrote them with a
            # plugin this one lacks): the state as written is the nearest it can tell.
            return state

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
        listing = self._listing(query)
        if listing is None:
            # Select in Python, among the rockets the indexed filters leave.
            where, params, _ = self._fields.conditions(query.filters())
            condition = " AND ".join([_KEPT, *where])
            statement = f"SELECT {_STORED} FROM rocket_channels WHERE {condition}"
            rows = await self._query(statement, params)
            return select(await self._completed(rows), query, self._schema)
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
        return total, await self._completed(states)

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

    async def stalled(
        self, min_seconds: float, limit: int | None = None, offset: int = 0
    ) -> tuple[int, list[Waiting]]:
        """Read on the index of the waiting channels (those that waited long enough, then
        those at a message set aside that did not), counted on ``rocket_gaps``: see
        :mod:`rockets.stores.postgres_gaps`. Ages are the database's."""
        offset = min(offset, _BIGINT_MAX)
        first = None if limit is None else min(offset + limit, _BIGINT_MAX)
        # Longer than since 1970: none has waited as long; only those set aside are listed.
        seconds = min(max(min_seconds, 0.0), _LONGEST_WAIT)
        page = {"seconds": seconds, "first": first, "limit": limit, "offset": offset}
        try:
            async with self._snapshot() as conn:
                cursor = await conn.execute(_WAITING_PAGE, page)
                found = await cursor.fetchall()
                cursor = await conn.execute(postgres_gaps.AGED, {"seconds": seconds})
                aged = await cursor.fetchone()
                cursor = await conn.execute(postgres_gaps.TOTALS)
                totals = await cursor.fetchone()
        except psycopg.Error as exc:
            raise StoreError(f"postgresql: {reason(exc)}") from exc
        assert aged is not None
        assert totals is not None
        total = int(aged[0]) + int(totals[1]) - int(aged[1])
        states = await self._completed(found)
        return total, [
            Waiting(state=state, seconds=max(0.0, row[-1]))
            for state, row in zip(states, found, strict=True)
        ]

    async def backlog(self, stall_seconds: float) -> Backlog:
        try:
            async with self._snapshot() as conn:
                cursor = await conn.execute(postgres_gaps.TOTALS)
                totals = await cursor.fetchone()
                cursor = await conn.execute(
                    postgres_gaps.AGED, {"seconds": min(stall_seconds, _LONGEST_WAIT)}
                )
                aged = await cursor.fetchone()
                cursor = await conn.execute(postgres_gaps.OLDEST)
                oldest = await cursor.fetchone()
        except psycopg.Error as exc:
            raise StoreError(f"postgresql: {reason(exc)}") from exc
        assert totals is not None
        assert aged is not None
        return Backlog(
            channels=int(totals[0]),
            messages=int(totals[2]),
            stalled=int(aged[0]),
            oldest_seconds=0.0 if oldest is None else max(0.0, float(oldest[0])),
        )

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
