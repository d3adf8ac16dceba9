"""Three message types of the store contract suite's own, so that it needs no installed plugin.

``ContractStart`` brings a rocket up (type, speed, mission; status ``going``), ``ContractAdd``
adds to its speed, ``ContractStop`` stops it for good (status ``stopped``, with a reason; later
events change nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import pluggy

from rockets import hookspecs
from rockets.hookspecs import hookimpl
from rockets.registry import EventType, Registry, build_registry
from rockets.state import Event, RocketState

__all__ = ["ADD", "START", "STOP", "contract_registry"]

START, ADD, STOP = "ContractStart", "ContractAdd", "ContractStop"


class Start(msgspec.Struct, frozen=True):
    kind: str
    speed: int
    mission: str


class Add(msgspec.Struct, frozen=True):
    by: int


class Stop(msgspec.Struct, frozen=True):
    reason: str


def _start(state: RocketState, event: Event[Start]) -> RocketState:
    if state.status == "stopped":
        return state
    m = event.message
    return msgspec.structs.replace(
        state,
        type=m.kind,
        speed=m.speed,
        mission=m.mission,
        status="going",
        launched_at=event.message_time,
    )


def _add(state: RocketState, event: Event[Add]) -> RocketState:
    if state.status == "stopped":
        return state
    return msgspec.structs.replace(state, speed=state.speed + event.message.by)


def _stop(state: RocketState, event: Event[Stop]) -> RocketState:
    if state.status == "stopped":
        return state
    return msgspec.structs.replace(state, status="stopped", reason=event.message.reason)


class _Plugin:
    @hookimpl
    def register_event_types(self) -> Sequence[EventType[Any]]:
        return [
            EventType(name=START, schema=Start, apply=_start),
            EventType(name=ADD, schema=Add, apply=_add),
            EventType(name=STOP, schema=Stop, apply=_stop),
        ]


def contract_registry() -> Registry:
    """A registry holding the contract's three types and nothing else."""
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    pm.register(_Plugin(), name="store-contract")
    return build_registry(pm)
