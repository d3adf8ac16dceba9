"""The payloads of the five standard message types, for building messages with the SDK.

Each is a msgspec Struct with Pythonic field names (``launch_speed`` goes on the wire as
``launchSpeed``) whose class name is its messageType, as the SDK reads it::

    client.send(RocketLaunched(type="Falcon-9", launch_speed=500, mission="ARTEMIS"),
                channel="r1", number=1)

:data:`PAYLOAD_TYPES` holds all five, for a client to decode events' messages into
(``RocketsClient(url, payload_types=PAYLOAD_TYPES)``).
"""

from __future__ import annotations

from rockets_standard.exploded import RocketExploded
from rockets_standard.launched import RocketLaunched
from rockets_standard.mission_changed import RocketMissionChanged
from rockets_standard.speed_decreased import RocketSpeedDecreased
from rockets_standard.speed_increased import RocketSpeedIncreased

__all__ = [
    "PAYLOAD_TYPES",
    "RocketExploded",
    "RocketLaunched",
    "RocketMissionChanged",
    "RocketSpeedDecreased",
    "RocketSpeedIncreased",
]

PAYLOAD_TYPES = (
    RocketLaunched,
    RocketSpeedIncreased,
    RocketSpeedDecreased,
    RocketMissionChanged,
    RocketExploded,
)
"""The five standard payload Structs."""
