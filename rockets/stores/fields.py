"""The state's fields as the PostgreSQL store keeps, sorts, filters and indexes them.

Every field of the app's state type whose type is one scalar (an integer, a number, a boolean, a
string, a time, or one of these or None) is kept a second time in its channel's row, in the
``fields`` jsonb document, in a form PostgreSQL orders as Python does: numbers and booleans as
JSON (jsonb compares numbers by value, and ``false`` before ``true``), times as microseconds
since 1970 in UTC (a naive time is taken as UTC), strings as they are (compared by code point,
``COLLATE "C"``). The standard fields and every plugin's go through this one mechanism: no field
is named here or in the store.

Each such field gets an expression index on ``(expression, channel)``, made at start; a listing
sorted or filtered on it reads the index, the page first. A string is indexed and sorted by its
first :data:`TEXT_PREFIX` characters (then by channel), so that no value is too large for a
btree entry, and the document holds no more of it: a longer value is kept whole in the state,
and in the document as its first characters and a digest of the whole, which an equality filter
matches (a state field that grows with every event would otherwise be written, and read by
every index, a second time). A key a row's document lacks (written before the field's plugin
was loaded) reads as the field's default, as the state itself decodes.

Other fields (lists, mappings, structs, unions of several types) are not indexed: a listing
sorted or filtered on one selects in Python over the rockets the other filters leave.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from rockets.core.state_schema import StateField, StateSchema
from rockets.state import RocketState

__all__ = [
    "DIGEST_KEY",
    "INDEX_PREFIX",
    "KEY",
    "TEXT_PREFIX",
    "FieldIndex",
    "SortedField",
    "digest",
]

TEXT_PREFIX = 256
"""Characters of a string that its index entry holds and a listing sorts by: at most 1 kB of
UTF-8, well within a btree entry's limit (about 2.7 kB) with the channel beside it."""
INDEX_PREFIX = "rocket_state_"
"""The start of every index this module makes; one with it that the app no longer needs is
dropped at start."""
KEY = "channel"
"""The state's attribute that is the row's key: sorted by the key column, never indexed twice."""
DIGEST_KEY = "{}#"
"""The document's key of the digest of a string longer than :data:`TEXT_PREFIX` (a JSON name
holds no ``#``)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_encoder = msgspec.json.Encoder()


def _micros(value: Any) -> Any:
    """A time as microseconds since 1970 (UTC): ordered and compared as Python compares times."""
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // _MICROSECOND


class SortedField(msgspec.Struct, frozen=True, kw_only=True):
    """One indexed field: how it is kept in the document, sorted and filtered.

    Attributes:
        json_name: its name in JSON, and its key in the document.
        attribute: its Python attribute.
        text: whether it is a string (sorted by its prefix, matched whole).
        nullable: whether it may hold None (sorted last in either order).
        expression: the SQL expression its index holds and a listing sorts by.
        digest: for a string, the SQL expression of the digest of a value longer than its
            prefix (``''`` for a shorter one).
        index: the name of its index.
    """

    json_name: str
    attribute: str
    text: bool
    nullable: bool
    expression: str
    digest: str
    index: str


def digest(text: str) -> str:
    """What the document keeps of a string longer than :data:`TEXT_PREFIX` besides its
    prefix, to match it whole."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _indexed(expression: str) -> str:
    # Partial: the row a group makes to lock a new channel (with no state yet) costs no entry,
    # only the state written right after it does.
    return f"({expression}, channel) WHERE state IS NOT NULL"


def _quote(text: str) -> str:
    """``text`` as an SQL literal with no ``%`` in it: the expressions go into statements that
    take parameters, where psycopg reads ``%`` as the start of one."""
    escaped = text.replace("\\", "\\\\").replace("'", "\\'").replace("%", "\\x25")
    return f"E'{escaped}'"


def _scalar(annotation: Any) -> tuple[str, bool] | None:
    """``("text" | "time" | "json", nullable)`` for a scalar type, None for any other."""
    info = msgspec.inspect.type_info(annotation)
    nullable = False
    if isinstance(info, msgspec.inspect.UnionType):
        kinds = [t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)]
        nullable = len(kinds) < len(info.types)
        if len(kinds) != 1:
            return None
        info = kinds[0]
    if isinstance(info, msgspec.inspect.StrType):
        return "text", nullable
    if isinstance(info, msgspec.inspect.DateTimeType):
        return "time", nullable
    if isinstance(info, msgspec.inspect.IntType | msgspec.inspect.FloatType):
        return "json", nullable
    if isinstance(info, msgspec.inspect.BoolType):
        return "json", nullable
    if isinstance(info, msgspec.inspect.LiteralType):
        values = info.values
        if all(isinstance(v, str) for v in values):
            return "text", nullable
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return "json", nullable
    return None


def _sorted_field(field: StateField) -> tuple[SortedField, Callable[[Any], Any] | None] | None:
    scalar = _scalar(field.type)
    if scalar is None:
        return None
    kind, nullable = scalar
    convert = _micros if kind == "time" else None
    default = field.default_value()
    if default is not None and convert is not None:
        default = convert(default)
    default_digest = ""
    if isinstance(default, str):
        default = default.replace("\x00", "")  # as the document holds it
        if len(default) > TEXT_PREFIX:
            default, default_digest = default[:TEXT_PREFIX], digest(default)
    key = _quote(field.json_name)
    value = f"(fields -> {key})"
    if default is not None:
        value = f"coalesce(fields -> {key}, {_quote(_encoder.encode(default).decode())}::jsonb)"
    nullable = nullable or default is None
    digested = _quote(DIGEST_KEY.format(field.json_name))
    held = f"fields ->> {digested}"
    if default_digest:
        # A document without the field reads as its default, digest included.
        held = f"CASE WHEN fields ? {key} THEN {held} ELSE {_quote(default_digest)} END"
    if kind == "text":
        expression = f"(left(({value} #>> '{{}}'), {TEXT_PREFIX}) COLLATE \"C\")"
    else:
        expression = f"nullif({value}, 'null'::jsonb)"
    # Named by what it holds too, so that a field whose kind or default changes gets a new one.
    name_digest = hashlib.sha256(_indexed(expression).encode()).hexdigest()[:10]
    stem = "".join(c if c.isalnum() else "_" for c in field.json_name.lower())[:32]
    sorted_field = SortedField(
        json_name=field.json_name,
        attribute=field.name,
        text=kind == "text",
        nullable=nullable,
        expression=expression,
        digest=f"coalesce({held}, '')",
        index=f"{INDEX_PREFIX}{stem}_{name_digest}",
    )
    return sorted_field, convert


class FieldIndex:
    """The indexed fields of one app's state type, and the SQL that sorts and filters on them."""

    def __init__(self, schema: StateSchema) -> None:
        self.fields: dict[str, SortedField] = {}
        self._document: list[tuple[str, str, Callable[[Any], Any] | None]] = []
        self._texts: list[str] = []
        self.key: str | None = None
        for field in schema.fields.values():
            if field.name == KEY:
                self.key = field.json_name
                continue
            made = _sorted_field(field)
            if made is None:
                continue
            sorted_field, convert = made
            self.fields[field.json_name] = sorted_field
            self._document.append((field.json_name, field.name, convert))
            if sorted_field.text:
                self._texts.append(field.json_name)

    def document(self, state: RocketState) -> str:
        """The ``fields`` document of ``state``: its indexed fields' values, in sortable form."""
        values: dict[str, Any] = {}
        for json_name, attribute, convert in self._document:
            value = getattr(state, attribute, None)
            values[json_name] = value if convert is None else convert(value)
        for json_name in self._texts:
            value = values[json_name]
            if not isinstance(value, str):
                continue
            if "\x00" in value:
                # jsonb cannot hold NUL, which apply may have put in a string: the document (not
                # the state, kept exactly beside it) holds the string without it.
                value = values[json_name] = value.replace("\x00", "")
            if len(value) > TEXT_PREFIX:
                values[json_name] = value[:TEXT_PREFIX]
                values[DIGEST_KEY.format(json_name)] = digest(value)
        return _encoder.encode(values).decode()

    def indexes(self, table: str) -> dict[str, str]:
        """Index name → the statement that makes it, for every indexed field."""
        return {
            f.index: f'CREATE INDEX IF NOT EXISTS "{f.index}" ON {table} {_indexed(f.expression)}'
            for f in self.fields.values()
        }

    def statistics(self, table: str) -> dict[str, str]:
        """Statistics name → the statement that makes it, for every indexed field: the planner
        reads no statistics of a partial index, and without these would take a value that
        most rockets hold for a rare one (PostgreSQL 14 and later)."""
        return {
            f.index: f'CREATE STATISTICS IF NOT EXISTS "{f.index}" ON ({f.expression}) FROM {table}'
            for f in self.fields.values()
        }

    def condition(self, json_name: str, value: Any) -> tuple[str, list[Any]] | None:
        """The SQL condition (and its parameters) of ``json_name == value``; ``("false", [])``
        for a value no row can hold; None when the field is not indexed (select in Python)."""
        field = self.fields.get(json_name)
        if field is None:
            return None
        if value is None:
            return f"{field.expression} IS NULL", []
        if field.text:
            if not isinstance(value, str):
                return None
            if "\x00" in value:
                return "false", []
            # The prefix finds the rows in the index, and is the whole value when shorter than
            # a prefix; else the digest decides (none: the value is the prefix). (A needless
            # second condition would make the planner think the value rare.)
            found = f'{field.expression} = (%s COLLATE "C")'
            if len(value) < TEXT_PREFIX:
                return found, [value]
            whole = digest(value) if len(value) > TEXT_PREFIX else ""
            return f"{found} AND {field.digest} = %s", [value[:TEXT_PREFIX], whole]
        if isinstance(value, datetime):
            value = _micros(value)
        elif not isinstance(value, int | float):
            return None
        return f"{field.expression} = %s::jsonb", [_encoder.encode(value).decode()]

    def conditions(self, filters: dict[str, Any]) -> tuple[list[str], list[Any], bool]:
        """The SQL conditions of ``filters`` and their parameters; and whether some filter is on
        a field that is not indexed (the rows must then be filtered in Python as well)."""
        where: list[str] = []
        params: list[Any] = []
        rest = False
        for json_name, value in filters.items():
            made = self.condition(json_name, value)
            if made is None:
                rest = True
                continue
            where.append(made[0])
            params.extend(made[1])
        return where, params, rest
