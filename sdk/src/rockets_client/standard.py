"""The payloads of the five standard message types, for building messages and reading events.

Each is a msgspec Struct with Pythonic field names (``launch_speed`` goes on the wire as
``launchSpeed``) whose class name is its messageType, as client and server read it::

    client.send(RocketLaunched(type="Falcon-9", launch_speed=500, mission="ARTEMIS"),
                channel="r1", number=1)

The server's standard plugins (``rockets_standard``) register these very classes, so the
payload's schema is written once. :data:`PAYLOAD_TYPES` holds all five, for a client to decode
events' messages into (``RocketsClient(url, payload_types=PAYLOAD_TYPES)``).
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from rockets_client.wire import Count

__all__ = [
    "MAX_TEXT",
    "PAYLOAD_TYPES",
    "RocketExploded",
    "RocketLaunched",
    "RocketMissionChanged",
    "RocketSpeedDecreased",
    "RocketSpeedIncreased",
    "Text",
]

MAX_TEXT = 256
Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]
"""A rocket type, mission or reason: any string, at most 256 characters."""


class RocketLaunched(msgspec.Struct, frozen=True, rename="camel"):
    """The ``message`` payload of a RocketLaunched message."""

    type: Text
    launch_speed: Count
    mission: Text


class RocketSpeedIncreased(msgspec.Struct, frozen=True):
    """The ``message`` payload of a RocketSpeedIncreased message."""

    by: Count


class RocketSpeedDecreased(msgspec.Struct, frozen=True):
    """The ``message`` payload of a RocketSpeedDecreased message."""

    by: Count


class RocketMissionChanged(msgspec.Struct, frozen=True, rename="camel"):
    """The ``message`` payload of a RocketMissionChanged message."""

    new_mission: Text


class RocketExploded(msgspec.Struct, frozen=True):
    """The ``message`` payload of a RocketExploded message."""

    reason: Text


PAYLOAD_TYPES = (
    RocketLaunched,
    RocketSpeedIncreased,
    RocketSpeedDecreased,
    RocketMissionChanged,
    RocketExploded,
)
"""The five standard payload Structs."""
