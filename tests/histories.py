"""Rocket histories for tests, and an independent reference model of the SPEC's effects.

The reference model is written from the SPEC table, not from the plugins, so that a test
comparing the server with it checks the plugins too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

TYPES = ("Falcon-9", "Falcon Heavy", "Starship", "Ariane-6")
MISSIONS = ("ARTEMIS", "APOLLO", "GEMINI", "luna 7", "")


@dataclass
class Message:
    channel: str
    number: int
    type: str
    payload: dict[str, Any]
    time: str = "2022-02-02T19:39:05.86337+01:00"

    def json(self) -> dict[str, Any]:
        return {
            "metadata": {
                "channel": self.channel,
                "messageNumber": self.number,
                "messageTime": self.time,
                "messageType": self.type,
            },
            "message": self.payload,
        }


def history(rng: random.Random, channel: str, length: int) -> list[Message]:
    """A plausible rocket life: launched first, then speed and mission changes, maybe a blast."""
    out = [
        Message(
            channel,
            1,
            "RocketLaunched",
            {
                "type": rng.choice(TYPES),
                "launchSpeed": rng.randrange(0, 1000),
                "mission": rng.choice(MISSIONS),
            },
        )
    ]
    for number in range(2, length + 1):
        roll = rng.random()
        if roll < 0.4:
            kind, payload = "RocketSpeedIncreased", {"by": rng.randrange(0, 500)}
        elif roll < 0.8:
            kind, payload = "RocketSpeedDecreased", {"by": rng.randrange(0, 800)}
        elif roll < 0.95:
            kind, payload = "RocketMissionChanged", {"newMission": rng.choice(MISSIONS)}
        else:
            kind, payload = "RocketExploded", {"reason": rng.choice(["PRESSURE", "FUEL", "bird"])}
        out.append(
            Message(channel, number, kind, payload, time=f"2022-02-02T19:{number % 60:02d}:05Z")
        )
    return out


def deliveries(rng: random.Random, messages: list[Message], duplicate_rate: float) -> list[Message]:
    """``messages`` shuffled, some of them several times."""
    out = list(messages)
    out += [m for m in messages if rng.random() < duplicate_rate]
    rng.shuffle(out)
    return out


@dataclass
class Expected:
    """The SPEC's fold of a history, field by field."""

    type: str | None = None
    mission: str | None = None
    speed: int = 0
    status: str = "unknown"
    reason: str | None = None
    last: int = 0
    seen: list[str] = field(default_factory=list)

    def as_api(self, channel: str) -> dict[str, Any]:
        return {
            "channel": channel,
            "type": self.type,
            "mission": self.mission,
            "speed": self.speed,
            "status": self.status,
            "reason": self.reason,
            "lastMessageNumber": self.last,
        }


def expected(messages: list[Message]) -> Expected:
    state = Expected()
    for m in sorted(messages, key=lambda m: m.number):
        state.last = m.number
        if state.status == "exploded":
            continue
        p = m.payload
        if m.type == "RocketLaunched":
            state.type, state.mission = p["type"], p["mission"]
            state.speed, state.status = p["launchSpeed"], "flying"
        elif m.type == "RocketSpeedIncreased":
            state.speed += p["by"]
        elif m.type == "RocketSpeedDecreased":
            state.speed = max(0, state.speed - p["by"])
        elif m.type == "RocketMissionChanged":
            state.mission = p["newMission"]
        elif m.type == "RocketExploded":
            state.status, state.reason = "exploded", p["reason"]
    return state


def api_fields(state: dict[str, Any]) -> dict[str, Any]:
    """The fields of an API rocket state that :meth:`Expected.as_api` predicts."""
    keys = ("channel", "type", "mission", "speed", "status", "reason", "lastMessageNumber")
    return {k: state[k] for k in keys}
