from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from rockets.app import load_plugins
from rockets.core.aggregate import apply_record, fold, initial_state
from rockets.core.registry import Registry
from rockets.errors import SequenceError
from rockets.records import Record
from rockets.settings import Settings

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_plugins(Settings()).registry()


def events(*messages: tuple[str, dict[str, object]]) -> list[Record]:
    return [
        Record(
            "c",
            n,
            kind,
            T0.replace(minute=n),
            T0,
            msgspec.json.encode(payload),
        )
        for n, (kind, payload) in enumerate(messages, start=1)
    ]


LAUNCH = ("RocketLaunched", {"type": "Falcon-9", "launchSpeed": 500, "mission": "ARTEMIS"})


def test_launch_sets_type_mission_speed_and_status(registry: Registry) -> None:
    state = fold(registry, "c", events(LAUNCH))
    assert (state.type, state.mission, state.speed, state.status) == (
        "Falcon-9",
        "ARTEMIS",
        500,
        "flying",
    )
    assert state.launched_at == T0.replace(minute=1)
    assert state.updated_at == T0.replace(minute=1)
    assert state.last_message_number == 1


def test_speed_changes_and_clamp_at_zero(registry: Registry) -> None:
    state = fold(
        registry,
        "c",
        events(
            LAUNCH,
            ("RocketSpeedIncreased", {"by": 300}),
            ("RocketSpeedDecreased", {"by": 100}),
        ),
    )
    assert state.speed == 700
    state = fold(registry, "c", events(LAUNCH, ("RocketSpeedDecreased", {"by": 10_000})))
    assert state.speed == 0


def test_mission_is_kept_as_sent(registry: Registry) -> None:
    for mission in ("", "  spaced  ", "ÄRTEMIS 🚀", "123"):
        state = fold(
            registry, "c", events(LAUNCH, ("RocketMissionChanged", {"newMission": mission}))
        )
        assert state.mission == mission


def test_explosion_freezes_the_state_but_not_the_numbering(registry: Registry) -> None:
    state = fold(
        registry,
        "c",
        events(
            LAUNCH,
            ("RocketExploded", {"reason": "PRESSURE_VESSEL_FAILURE"}),
            ("RocketSpeedIncreased", {"by": 300}),
            ("RocketMissionChanged", {"newMission": "MARS"}),
            ("RocketExploded", {"reason": "again"}),
            LAUNCH,
        ),
    )
    assert (state.status, state.reason, state.speed, state.mission) == (
        "exploded",
        "PRESSURE_VESSEL_FAILURE",
        500,
        "ARTEMIS",
    )
    assert state.last_message_number == 6
    # updatedAt is the time of the last event that changed something.
    assert state.updated_at == T0.replace(minute=2)


def test_events_before_launch_apply_to_the_initial_state(registry: Registry) -> None:
    state = fold(registry, "c", events(("RocketSpeedIncreased", {"by": 5})))
    assert (state.speed, state.status, state.type) == (5, "unknown", None)


def test_core_enforces_event_order(registry: Registry) -> None:
    first, second = events(LAUNCH, ("RocketSpeedIncreased", {"by": 1}))
    with pytest.raises(SequenceError):
        apply_record(registry, initial_state(registry, "c"), second)
    state = apply_record(registry, initial_state(registry, "c"), first)
    with pytest.raises(SequenceError):
        apply_record(registry, state, first)
    with pytest.raises(SequenceError):
        apply_record(registry, initial_state(registry, "other"), first)
