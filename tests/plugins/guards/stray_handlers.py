"""Projections whose handlers cannot be dispatched, chosen by ``STRAY`` (set by the test that
copies this file): a type no plugin registers, a Struct that only shares a registered name,
neither apply nor handlers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from rockets import Event, ProjectionType, RocketState, hookimpl

STRAY = "unregistered"


class Seen(msgspec.Struct, frozen=True):
    n: int = 0


class RocketDocked(msgspec.Struct, frozen=True):
    port: str


class RocketLaunched(msgspec.Struct, frozen=True):
    """Named as the standard type, but not its Struct."""

    type: str


def count(value: Seen, event: Event[Any], state: RocketState) -> Seen:
    return Seen(value.n + 1)


@hookimpl
def register_projections() -> Sequence[ProjectionType[Any]]:
    if STRAY == "unregistered":
        return [ProjectionType(name="seen", initial=Seen(), handlers={RocketDocked: count})]
    if STRAY == "lookalike":
        return [ProjectionType(name="seen", initial=Seen(), handlers={RocketLaunched: count})]
    return [ProjectionType(name="seen", initial=Seen())]
