"""A drop-in plugin's classes in a script, imported by the file's path as the server imports it.

Against `ROCKETS_PLUGINS_DIR=docs/examples/state_plugins make run`:
`python docs/examples/sdk_dropin.py`. A test runs it in-process.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from rockets_client import DEFAULT_URL, RocketLaunched, RocketsClient, import_plugin_file

# The module rockets_dropin_rocket_crew, registered in sys.modules before it runs, so that its
# Structs' annotations resolve (a file run without that entry defines types msgspec cannot use).
crew_plugin = import_plugin_file(Path(__file__).parent / "state_plugins" / "rocket_crew.py")


def board(client: RocketsClient, channel: str) -> int:
    """Launch a rocket, board three people; return the crew the server counts."""
    client.send(
        RocketLaunched(type="Soyuz", launch_speed=100, mission="ISS"), channel=channel, number=1
    )
    client.send(crew_plugin.RocketCrewBoarded(count=3), channel=channel, number=2)
    rocket = client.rocket(channel)  # a CrewState, decoded with the plugin's field
    print(f"{channel}: {rocket.crew} aboard")
    return int(rocket.crew)


if __name__ == "__main__":
    with RocketsClient(DEFAULT_URL, state_type=crew_plugin.CrewState) as client:
        board(client, f"crewed-{uuid.uuid4()}")
