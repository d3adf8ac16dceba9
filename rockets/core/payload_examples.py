"""The messages the API documentation shows: for each message type the example payload its
plugin declares, or one made from its Struct with values that fit every constraint the Struct
declares; and these examples in the order of a rocket's life.

A made example is checked by the type's own decoder, as ``POST /messages`` checks a payload, so
that what the documentation offers is accepted as it stands; when no value can be made to fit
(a text pattern none of a few plain words matches), there is none, and the plugin declares one.
The order is found by applying the examples, through the plugins' own ``apply`` (pure, by their
contract), to a new rocket: no type is named here.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
import uuid
from typing import Any

import msgspec
import msgspec.inspect as mi

from rockets.core.aggregate import apply_record, initial_state
from rockets.core.registry import RegisteredType, Registry
from rockets.records import Record
from rockets.state import RocketState

__all__ = ["ExampleMessage", "example_life", "example_payload", "made_example"]

_WORDS = ("example", "a", "A", "1", "x1", "example-1", "EXAMPLE", "")
"""The texts tried, in turn, for a string with a pattern; the first is a string without one."""
_TIME = dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.UTC)
_DEPTH = 8
"""How deep a made example goes into nested types: a type that holds itself stops there."""


class ExampleMessage(msgspec.Struct, frozen=True):
    """One message of a documented example: its type and its payload as JSON values."""

    message_type: str
    payload: Any


_KEPT_BY_THE_CORE = frozenset({"last_message_number", "updated_at"})


def example_life(registry: Registry, channel: str) -> list[ExampleMessage]:
    """One message of each type that has an example, in the order of a rocket's life: first
    the one that sets the most of a new rocket's state (a launch, rather than a speed change),
    then the others, those that leave the most for the others to change first (an explosion,
    after which the standard types change nothing, last), by name among equals."""
    examples: dict[str, tuple[Any, Any]] = {}
    for name, registered in registry.items():
        payload = example_payload(registered)
        if payload is not None:
            examples[name] = (payload, registered.decoder.decode(msgspec.json.encode(payload)))

    def then(state: RocketState, name: str) -> RocketState:
        payload, message = examples[name]
        record = Record(
            channel=channel,
            message_number=state.last_message_number + 1,
            message_type=name,
            message_time=_TIME,
            received_at=_TIME,
            payload=msgspec.json.encode(payload),
            message=message,
        )
        try:
            return apply_record(registry, state, record)
        except Exception:  # a plugin's bug; its example then changes nothing
            return state

    def changed(before: RocketState, after: RocketState) -> int:
        return sum(
            getattr(before, field) != getattr(after, field)
            for field in before.__struct_fields__
            if field not in _KEPT_BY_THE_CORE
        )

    new = initial_state(registry, channel)
    names = sorted(examples)
    if not names:
        return []
    first = max(names, key=lambda name: changed(new, then(new, name)))
    launched = then(new, first)
    others = [name for name in names if name != first]

    def left_to_change(name: str) -> int:
        after = then(launched, name)
        return sum(changed(after, then(after, other)) > 0 for other in others if other != name)

    left = {name: left_to_change(name) for name in others}  # not while others is sorted
    others.sort(key=lambda name: -left[name])
    return [ExampleMessage(name, examples[name][0]) for name in [first, *others]]


def example_payload(registered: RegisteredType) -> Any | None:
    """The payload of ``registered`` as JSON values (dicts, lists, strings, numbers): the
    plugin's declared ``example``, or one made from the payload's Struct; None when none fits
    (see the module's docstring)."""
    declared = registered.event_type.example
    if declared is not None:
        return msgspec.to_builtins(declared)
    return made_example(registered.event_type.schema, registered.decoder)


def made_example(schema: type[Any], decoder: msgspec.json.Decoder[Any] | None = None) -> Any:
    """A payload of ``schema`` as JSON values, or None when what could be made does not pass
    ``decoder`` (the schema's own decoder when omitted)."""
    value = _value(mi.type_info(schema), _DEPTH)
    checker = decoder if decoder is not None else msgspec.json.Decoder(schema)
    try:
        checker.decode(msgspec.json.encode(value))
    except (msgspec.ValidationError, msgspec.EncodeError, TypeError):
        return None
    return msgspec.to_builtins(value)


def _number(kind: mi.IntType | mi.FloatType, integer: bool) -> float:
    """A small value within the bounds: 1 when it fits, else the bound it breaks (moved inside
    when exclusive), or halfway between two bounds."""
    low = kind.ge if kind.ge is not None else kind.gt
    high = kind.le if kind.le is not None else kind.lt
    value: float = 1
    if low is not None and (value < low or (value == low and kind.gt is not None)):
        value = low + 1 if kind.gt is not None or not integer else low
    if high is not None and (value > high or (value == high and kind.lt is not None)):
        value = high - 1 if kind.lt is not None or not integer else high
    if not integer and low is not None and high is not None and not low <= value <= high:
        value = (low + high) / 2
    multiple = kind.multiple_of
    if multiple:
        value = math.ceil(value / multiple) * multiple
        if high is not None and value > high:
            value -= multiple
    return int(value) if integer else float(value)


def _text(kind: mi.StrType) -> str:
    shortest = kind.min_length or 0
    longest = kind.max_length

    def sized(word: str) -> str:
        word = word + "x" * max(0, shortest - len(word))
        return word if longest is None else word[:longest]

    if kind.pattern is None:
        return sized(_WORDS[0])
    pattern = re.compile(kind.pattern)
    for word in _WORDS:
        candidate = sized(word)
        if pattern.search(candidate):
            return candidate
    return sized(_WORDS[0])  # refused by the decoder: the plugin has to declare an example


def _fields(fields: tuple[mi.Field, ...], depth: int) -> dict[str, Any]:
    """Every field: a required one with a made value, one with a default with its default."""
    made: dict[str, Any] = {}
    for field in fields:
        if field.required:
            made[field.encode_name] = _value(field.type, depth)
        elif field.default is not msgspec.NODEFAULT:
            made[field.encode_name] = field.default
        else:
            made[field.encode_name] = field.default_factory()
    return made


def _value(kind: mi.Type, depth: int) -> Any:
    depth -= 1
    if isinstance(kind, mi.Metadata):
        examples = (kind.extra_json_schema or {}).get("examples")
        if examples:
            return examples[0]
        return _value(kind.type, depth + 1)
    if isinstance(kind, mi.NoneType):
        return None
    if isinstance(kind, mi.BoolType):
        return True
    if isinstance(kind, mi.IntType):
        return _number(kind, integer=True)
    if isinstance(kind, mi.FloatType):
        return _number(kind, integer=False)
    if isinstance(kind, mi.StrType):
        return _text(kind)
    if isinstance(kind, mi.BytesType | mi.ByteArrayType | mi.MemoryViewType):
        return b"example"[: kind.max_length] if kind.max_length is not None else b"example"
    if isinstance(kind, mi.DateTimeType):
        return _TIME.replace(tzinfo=None) if kind.tz is False else _TIME
    if isinstance(kind, mi.DateType):
        return _TIME.date()
    if isinstance(kind, mi.TimeType):
        return _TIME.timetz() if kind.tz else _TIME.time()
    if isinstance(kind, mi.TimeDeltaType):
        return dt.timedelta(seconds=1)
    if isinstance(kind, mi.UUIDType):
        return uuid.UUID(int=1, version=4)
    if isinstance(kind, mi.DecimalType):
        return decimal.Decimal(1)
    if isinstance(kind, mi.LiteralType):
        return kind.values[0]
    if isinstance(kind, mi.EnumType):
        return next(iter(kind.cls)).value
    if isinstance(kind, mi.UnionType):
        others = [member for member in kind.types if not isinstance(member, mi.NoneType)]
        return _value(others[0], depth + 1) if others and depth > 0 else None
    if depth <= 0:
        return None
    if isinstance(kind, mi.ListType | mi.VarTupleType | mi.SetType | mi.FrozenSetType):
        count = kind.min_length or 0
        if isinstance(kind, mi.ListType | mi.VarTupleType) and count == 0:
            count = 1 if kind.max_length is None or kind.max_length >= 1 else 0
        return [_value(kind.item_type, depth)] * count
    if isinstance(kind, mi.TupleType):
        return [_value(item, depth) for item in kind.item_types]
    if isinstance(kind, mi.DictType):
        if not kind.min_length:
            return {}
        return {_value(kind.key_type, depth): _value(kind.value_type, depth)}
    if isinstance(kind, mi.StructType):
        made = _fields(kind.fields, depth)
        if kind.tag_field is not None:
            made = {kind.tag_field: kind.tag, **made}
        return list(made.values()) if kind.array_like else made
    if isinstance(kind, mi.TypedDictType | mi.DataclassType | mi.NamedTupleType):
        made = _fields(kind.fields, depth)
        return list(made.values()) if isinstance(kind, mi.NamedTupleType) else made
    return "example"  # Any, Raw, a custom type: anything goes
