"""Launch scenarios: the traffic ``rockets launch`` invents, offered by plugins.

The core knows no message type, so the rockets the traffic generator launches, and the state
each should end in, come from a plugin through the ``register_launch_scenarios`` hook.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from rockets.state import RocketState
from rockets.wire import message_type_of

__all__ = ["VERIFIED_FIELDS", "Planned", "Scenario"]


class Planned(msgspec.Struct, frozen=True):
    """One message of an invented rocket's life: its type and its payload (a payload Struct,
    or a mapping). ``Planned.of(payload)`` takes the type a payload Struct declares."""

    message_type: str
    payload: Any

    @classmethod
    def of(cls, payload: msgspec.Struct) -> Planned:
        """The message that carries ``payload``, of the type its Struct declares."""
        return cls(message_type_of(type(payload)), payload)


class Scenario(msgspec.Struct, frozen=True, kw_only=True):
    """Traffic a plugin offers to ``rockets launch``.

    Attributes:
        name: what ``rockets launch --scenario`` calls it.
        invent: ``(rng, length) -> messages``: one rocket's life of ``length`` messages, in
            order, drawn from ``rng`` only (so that a seed reproduces the run).
        expect: ``(channel, messages) -> state``: the state the rocket must reach once every
            message is applied. Compute it independently of the plugins' ``apply``: it is the
            reference ``--verify`` holds the server to.
        description: one line for ``rockets launch --help``.
    """

    name: str
    invent: Callable[[random.Random, int], Sequence[Planned]]
    expect: Callable[[str, Sequence[Planned]], RocketState]
    description: str = ""


VERIFIED_FIELDS = ("type", "mission", "speed", "status", "reason", "last_message_number")
"""The state fields ``--verify`` compares (times depend on the clock, so they are left out)."""
