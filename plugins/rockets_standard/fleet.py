"""The ``fleet`` projection: how many rockets by status, by mission and by type, and the fastest
ten, over every channel.

Its value keeps one brief per rocket (so that a change of status or mission moves the rocket
from one count to another) and the counts themselves; the API serves the counts and the
fastest ten, not the briefs.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import Any

import msgspec

from rockets import Event, ProjectionType, RocketState, hookimpl

TOP = 10


class Brief(msgspec.Struct, array_like=True):
    """What the fleet knows of one rocket."""

    status: str
    mission: str | None
    type: str | None
    speed: int


class FleetLog(msgspec.Struct):
    """The kept value: a brief per rocket and the counts. Updated in place: it grows with the
    fleet, and a copy per event would cost as much."""

    rockets: dict[str, Brief] = msgspec.field(default_factory=dict)
    by_status: dict[str, int] = msgspec.field(default_factory=dict)
    by_mission: dict[str, int] = msgspec.field(default_factory=dict)
    by_type: dict[str, int] = msgspec.field(default_factory=dict)


class FastRocket(msgspec.Struct, frozen=True, rename="camel"):
    channel: str
    speed: int
    type: str | None
    mission: str | None
    status: str


class Fleet(msgspec.Struct, frozen=True, rename="camel"):
    """What ``GET /projections/fleet`` answers."""

    rockets: int
    by_status: dict[str, int]
    by_mission: dict[str, int]
    by_type: dict[str, int]
    fastest: list[FastRocket]


def _move(counts: dict[str, int], old: str | None, new: str | None) -> None:
    if old == new:
        return
    if old is not None:
        left = counts[old] - 1
        if left:
            counts[old] = left
        else:
            del counts[old]
    if new is not None:
        counts[new] = counts.get(new, 0) + 1


def apply(value: FleetLog, event: Event[Any], state: RocketState) -> FleetLog:
    old = value.rockets.get(state.channel)
    new = Brief(state.status, state.mission, state.type, state.speed)
    _move(value.by_status, old.status if old else None, new.status)
    _move(value.by_mission, old.mission if old else None, new.mission)
    _move(value.by_type, old.type if old else None, new.type)
    value.rockets[state.channel] = new
    return value


def serve(value: FleetLog) -> Fleet:
    fastest = heapq.nsmallest(
        TOP, value.rockets.items(), key=lambda item: (-item[1].speed, item[0])
    )
    return Fleet(
        rockets=len(value.rockets),
        by_status=dict(sorted(value.by_status.items())),
        by_mission=dict(sorted(value.by_mission.items())),
        by_type=dict(sorted(value.by_type.items())),
        fastest=[
            FastRocket(
                channel=channel,
                speed=brief.speed,
                type=brief.type,
                mission=brief.mission,
                status=brief.status,
            )
            for channel, brief in fastest
        ],
    )


@hookimpl
def register_projections() -> Sequence[ProjectionType[Any]]:
    return [
        ProjectionType(
            name="fleet",
            initial=FleetLog(),
            apply=apply,
            serve=serve,
            description=(
                "How many rockets by status, by mission and by type, and the ten fastest."
            ),
        )
    ]
