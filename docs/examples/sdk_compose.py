"""Two plugins' state fields in one typed client: the fuel package's and a drop-in's.

Against `PYTHONPATH=plugins/rockets-fuel ROCKETS_PLUGINS=rockets_fuel.plugin
ROCKETS_PLUGINS_DIR=docs/examples/state_plugins make run` (the fuel package and the crew drop-in
loaded), with both importable here too: `PYTHONPATH=plugins/rockets-fuel:docs/examples/state_plugins
python docs/examples/sdk_compose.py`. mypy checks this file; a test runs it in-process.
"""

from __future__ import annotations

import uuid

from rocket_crew import CrewState, RocketCrewBoarded  # docs/examples/state_plugins/rocket_crew.py
from rockets_client import DEFAULT_URL, RocketLaunched, RocketsClient, as_state, compose_state
from rockets_fuel import FuelState, RocketRefueled  # the package plugins/rockets-fuel

# `class FuelAndCrew(FuelState, CrewState)` fails: msgspec Structs cannot have two such bases.
# compose_state builds one state type from both classes' fields, with their types and defaults.
FuelAndCrew = compose_state(FuelState, CrewState)


def fuel_and_crew(client: RocketsClient, channel: str) -> tuple[int, int]:
    """Launch, refuel and board a rocket; return its fuel and its crew, read typed."""
    client.send(
        RocketLaunched(type="Soyuz", launch_speed=100, mission="ISS"), channel=channel, number=1
    )
    client.send(RocketRefueled(amount=300), channel=channel, number=2)
    client.send(RocketCrewBoarded(count=3), channel=channel, number=3)

    rocket = client.rocket(channel)  # a FuelAndCrew: the fields of both plugins, decoded
    # as_state reads it as one plugin's class, whose fields a type checker knows.
    fuel = as_state(rocket, FuelState).fuel
    crew = as_state(rocket, CrewState).crew
    print(f"{channel}: fuel {fuel}, crew {crew}")

    # The client knows both plugins' fields, so it filters on them (by their JSON names).
    crewed = client.rockets(where={"crew": 3, "fuel": 300})
    print(f"{crewed.total} rocket(s) with 300 fuel and 3 aboard")
    return fuel, crew


if __name__ == "__main__":
    with RocketsClient(DEFAULT_URL, state_type=FuelAndCrew) as client:
        fuel_and_crew(client, f"crewed-{uuid.uuid4()}")
