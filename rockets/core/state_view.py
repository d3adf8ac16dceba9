"""A rocket state read as one plugin's state class, typed, without a copy.

The app's state type is composed at start from every plugin's fields (:mod:`state_schema`), so
it is a subclass of :class:`~rockets.state.RocketState` but of no plugin's class: a type checker
sees no plugin field on it, and ``isinstance(state, FuelState)`` is false. :func:`fields` checks
once per pair of types that the state has every field the plugin's class declares (same name,
same type) and hands back the state itself, typed as that class: reading a field costs nothing,
and ``msgspec.structs.replace`` on it keeps the app's type (and every other plugin's fields).
"""

from __future__ import annotations

import weakref
from typing import TypeVar, cast

import msgspec

from rockets.state import RocketState

__all__ = ["fields"]

P = TypeVar("P", bound=RocketState)

_checked: weakref.WeakKeyDictionary[type[RocketState], set[type[RocketState]]] = (
    weakref.WeakKeyDictionary()
)
"""State type → the plugin classes found to fit it: the check runs once per pair (and an app's
state type, made anew for every app, is forgotten with it)."""


def fields(state: RocketState, part: type[P]) -> P:
    """``state``, typed as the plugin's state class ``part`` (the class its
    ``extend_rocket_state`` returns), so that a type checker knows the plugin's fields::

        fuel = fields(state, FuelState).fuel  # an int, for mypy too

    It is the very object given, not a copy: the app's state type is composed from every
    plugin's fields, and holds ``part``'s whenever its plugin is loaded.

    Raises:
        TypeError: ``part`` is not a ``RocketState`` subclass, or ``state`` lacks one of its
            fields or has it with another type (its plugin is not loaded in this app).
    """
    kind = type(state)
    fitting = _checked.get(kind)
    if kind is part or (fitting is not None and part in fitting):
        return cast(P, state)
    if not (isinstance(part, type) and issubclass(part, RocketState)):
        raise TypeError(f"{part!r} is not a subclass of RocketState")
    if not isinstance(state, part):
        have = {field.name: field for field in msgspec.structs.fields(kind)}
        for wanted in msgspec.structs.fields(part):
            field = have.get(wanted.name)
            if field is None:
                raise TypeError(
                    f"this state has no field {wanted.name!r} of {part.__qualname__}: is the "
                    "plugin whose extend_rocket_state returns it loaded?"
                )
            if (field.type, field.encode_name) != (wanted.type, wanted.encode_name):
                raise TypeError(
                    f"this state's field {wanted.name!r} is {field.type!r} named "
                    f"{field.encode_name!r}, not {wanted.type!r} named {wanted.encode_name!r} as "
                    f"{part.__qualname__} declares it"
                )
    _checked.setdefault(kind, set()).add(part)
    return cast(P, state)
