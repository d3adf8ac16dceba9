"""Three message types of the store contract suite's own, so that it needs no installed plugin.

``ContractStart`` brings a rocket up (type, speed, mission; status ``going``), ``ContractAdd``
adds to its speed, ``ContractStop`` stops it for good (status ``stopped``, with a reason; later
events change nothing).
"""

from __future__ import annotations

import msgspec

from rockets.core.registry import EventType, Registry, build_registry
from rockets.state import Event, RocketState

__all__ = ["ADD", "START", "STOP", "contract_registry"]

START, ADD, STOP = "ContractStart", "ContractAdd", "ContractStop"


class ContractStart(msgspec.Struct, frozen=True):
    kind: str
    speed: int
    mission: str


class ContractAdd(msgspec.Struct, frozen=True):
    by: int


class ContractStop(msgspec.Struct, frozen=True):
    reason: str


def _start(state: RocketState, event: Event[ContractStart]) -> RocketState:
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


def _add(state: RocketState, event: Event[ContractAdd]) -> RocketState:
    if state.status == "stopped":
        return state
    return msgspec.structs.replace(state, speed=state.speed + event.message.by)


def _stop(state: RocketState, event: Event[ContractStop]) -> RocketState:
    if state.status == "stopped":
        return state
    return msgspec.structs.replace(state, status="stopped", reason=event.message.reason)


def contract_registry() -> Registry:
    """A registry holding the contract's three types and nothing else."""
    types = [
        EventType(schema=ContractStart, apply=_start),
        EventType(schema=ContractAdd, apply=_add),
        EventType(schema=ContractStop, apply=_stop),
    ]
    return build_registry([("store-contract", types)])
