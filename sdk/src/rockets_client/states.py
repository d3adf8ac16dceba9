"""State types made of several plugins' state classes, for a client to decode rockets into.

Two plugins' ``RocketState`` subclasses cannot be joined by inheritance (msgspec Structs have a
fixed layout: ``class Both(LandingState, FuelState)`` fails with "multiple bases have instance
lay-out conflict"), so :func:`compose_state` builds one Struct type from their fields, and
:func:`as_state` reads a state of that type as one plugin's class, for a type checker to see its
fields.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from rockets_client.state import RocketState

__all__ = ["as_state", "compose_state"]

P = TypeVar("P", bound=RocketState)

_CORE = {field.name for field in msgspec.structs.fields(RocketState)}


def _spec(field: msgspec.structs.FieldInfo) -> tuple[str, Any, Any]:
    """A field as :func:`msgspec.defstruct` takes it: name, type, default and JSON name."""
    if field.default_factory is not msgspec.NODEFAULT:
        default = msgspec.field(default_factory=field.default_factory, name=field.encode_name)
    elif field.default is not msgspec.NODEFAULT:
        default = msgspec.field(default=field.default, name=field.encode_name)
    else:
        default = msgspec.field(name=field.encode_name)
    return (field.name, field.type, default)


def compose_state(*parts: type[RocketState], name: str | None = None) -> type[RocketState]:
    """One state type with the fields of every class of ``parts`` (each a ``RocketState``
    subclass, such as a plugin's ``extend_rocket_state`` class), with their types, defaults and
    JSON names: give it to a client as ``state_type=`` to read several plugins' fields.

    Args:
        parts: the state classes, in the order their fields are to come.
        name: the new class's name; by default the parts' names joined by ``And``.

    Raises:
        TypeError: a part is not a ``RocketState`` subclass, or two parts declare the same
            field (by name or by JSON name) differently.
    """
    if not parts:
        raise TypeError("compose_state() needs at least one state class")
    fields: dict[str, tuple[msgspec.structs.FieldInfo, type[RocketState]]] = {}
    json_names: dict[str, str] = {}
    for part in parts:
        if not (isinstance(part, type) and issubclass(part, RocketState)):
            raise TypeError(f"{part!r} is not a subclass of RocketState")
        for field in msgspec.structs.fields(part):
            if field.name in _CORE:
                continue
            seen = fields.get(field.name)
            if seen is not None:
                if seen[0] != field:
                    raise TypeError(
                        f"{seen[1].__qualname__}.{field.name} and {part.__qualname__}."
                        f"{field.name} differ: {seen[0]} and {field}"
                    )
                continue
            other = json_names.get(field.encode_name)
            if other is not None:
                raise TypeError(
                    f"{other} and {part.__qualname__}.{field.name} both read the JSON field "
                    f"{field.encode_name!r}"
                )
            fields[field.name] = (field, part)
            json_names[field.encode_name] = f"{part.__qualname__}.{field.name}"
    composed = msgspec.defstruct(
        name or "And".join(part.__name__ for part in parts),
        [_spec(field) for field, _ in fields.values()],
        bases=(RocketState,),
        module=__name__,
        frozen=True,
        kw_only=True,
    )
    assert issubclass(composed, RocketState)
    return composed


def as_state(state: RocketState, part: type[P]) -> P:
    """``state`` as the state class ``part``: a ``part`` holding the fields ``part`` declares,
    taken from ``state`` (for a state of a type made by :func:`compose_state`, whose plugins'
    fields a type checker cannot see).

    Raises:
        TypeError: ``state`` lacks a field ``part`` requires.
    """
    values = {
        field.name: getattr(state, field.name)
        for field in msgspec.structs.fields(part)
        if hasattr(state, field.name)
    }
    return part(**values)
