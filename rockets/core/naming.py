"""The one naming rule of the JSON rockets speaks: every field is camelCase (``launch_speed`` is
``launchSpeed``), in message payloads, rocket states and projections' values alike, and in the
Structs nested in them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import msgspec.inspect as mi

__all__ = ["camel_case_problem", "served_names_problem"]


def camel_case_problem(struct: type[msgspec.Struct], fields: list[str] | None = None) -> str | None:
    """What breaks the rule in ``struct`` (only ``fields`` of it, when given) or in a Struct
    nested in those fields' types, or None.

    The rule is msgspec's own ``rename="camel"``: declaring a Struct with it is how to keep it.
    A Struct written as a JSON array (``array_like``) has no field names in JSON to check.
    """
    info = mi.type_info(struct)
    assert isinstance(info, mi.StructType)
    checked = [f for f in info.fields if fields is None or f.name in fields]
    problem = _own_problem(struct, [f.name for f in checked])
    if problem is not None:
        return problem
    seen: set[type[Any]] = {struct}
    for field in checked:
        for nested in _structs_in(field.type, seen):
            problem = _own_problem(nested, [f.name for f in msgspec.structs.fields(nested)])
            if problem is not None:
                return f"{problem} (in {struct.__name__}.{field.name})"
    return None


def served_names_problem(kind: Any) -> str | None:
    """What breaks the rule in a Struct a value of type ``kind`` may hold (what a projection
    serves, say), or None."""
    for struct in _structs_in(mi.type_info(kind), set()):
        problem = _own_problem(struct, [f.name for f in msgspec.structs.fields(struct)])
        if problem is not None:
            return problem
    return None


def _own_problem(struct: type[Any], names: list[str]) -> str | None:
    declared = {f.name: f.encode_name for f in msgspec.structs.fields(struct)}
    names = [name for name in names if name in declared]
    if not names or struct.__struct_config__.array_like:
        return None
    # msgspec's own conversion, so that the rule and the remedy cannot disagree.
    camel = msgspec.defstruct("Camel", [(name, Any) for name in names], rename="camel")
    wanted = {f.name: f.encode_name for f in msgspec.structs.fields(camel)}
    wrong = [name for name in names if declared[name] != wanted[name]]
    if not wrong:
        return None
    shown = ", ".join(f"{declared[n]!r} (should be {wanted[n]!r})" for n in wrong)
    return (
        f"{struct.__name__}: every JSON field is camelCase, but it writes {shown}; declare it "
        'with rename="camel"'
    )


def _structs_in(kind: mi.Type, seen: set[type[Any]]) -> Iterator[type[Any]]:
    """Every Struct class a value of type ``kind`` may hold, at any depth, once each."""
    if isinstance(kind, mi.StructType):
        if kind.cls in seen:
            return
        seen.add(kind.cls)
        yield kind.cls
        for field in kind.fields:
            yield from _structs_in(field.type, seen)
    elif isinstance(kind, mi.UnionType):
        for member in kind.types:
            yield from _structs_in(member, seen)
    elif isinstance(kind, mi.DictType):
        yield from _structs_in(kind.value_type, seen)
    elif isinstance(kind, mi.TupleType):
        for item in kind.item_types:
            yield from _structs_in(item, seen)
    elif isinstance(kind, mi.CollectionType):
        yield from _structs_in(kind.item_type, seen)
