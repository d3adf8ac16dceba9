"""The standard launch scenario: rockets launched, sped up and down, re-tasked, sometimes lost.

``expect`` is a reference model written from the SPEC table, independent of the plugins'
``apply`` functions, so that ``rockets launch --verify`` checks the server against the SPEC.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from rockets import Planned, RocketState, Scenario, hookimpl
from rockets_standard.messages import (
    RocketExploded,
    RocketLaunched,
    RocketMissionChanged,
    RocketSpeedDecreased,
    RocketSpeedIncreased,
)

TYPES = ("Falcon-9", "Falcon Heavy", "Starship", "Ariane-6", "Soyuz")
MISSIONS = ("ARTEMIS", "APOLLO", "GEMINI", "SHUTTLE_MIR", "luna 7")
REASONS = ("PRESSURE_VESSEL_FAILURE", "ENGINE_OUT", "FUEL_LEAK")
EXPLOSION_CHANCE = 0.03


def invent(rng: random.Random, length: int) -> list[Planned]:
    life = [
        Planned.of(
            RocketLaunched(
                type=rng.choice(TYPES),
                launch_speed=rng.randrange(0, 2000),
                mission=rng.choice(MISSIONS),
            ),
        )
    ]
    while len(life) < length:
        roll = rng.random()
        if roll < EXPLOSION_CHANCE:
            life.append(Planned.of(RocketExploded(reason=rng.choice(REASONS))))
        elif roll < 0.45:
            life.append(Planned.of(RocketSpeedIncreased(by=rng.randrange(0, 3000))))
        elif roll < 0.85:
            life.append(Planned.of(RocketSpeedDecreased(by=rng.randrange(0, 3000))))
        else:
            life.append(Planned.of(RocketMissionChanged(new_mission=rng.choice(MISSIONS))))
    return life[:length]


def expect(channel: str, life: Sequence[Planned]) -> RocketState:
    kind = mission = reason = None
    speed, status = 0, "unknown"
    for planned in life:
        if status == "exploded":
            continue
        p = planned.payload
        if isinstance(p, RocketLaunched):
            kind, mission, speed, status = p.type, p.mission, p.launch_speed, "flying"
        elif isinstance(p, RocketSpeedIncreased):
            speed += p.by
        elif isinstance(p, RocketSpeedDecreased):
            speed = max(0, speed - p.by)
        elif isinstance(p, RocketMissionChanged):
            mission = p.new_mission
        elif isinstance(p, RocketExploded):
            status, reason = "exploded", p.reason
    return RocketState(
        channel=channel,
        type=kind,
        mission=mission,
        speed=speed,
        status=status,
        reason=reason,
        last_message_number=len(life),
    )


@hookimpl
def register_launch_scenarios() -> Sequence[Scenario]:
    return [
        Scenario(
            name="standard",
            invent=invent,
            expect=expect,
            description="launches, speed and mission changes, about 3% explosions",
        )
    ]
