"""The payloads of the five standard message types: the SDK's (:mod:`rockets_client.standard`),
which these plugins register, under the names this module has always offered."""

from __future__ import annotations

from rockets_client.standard import (
    PAYLOAD_TYPES,
    RocketExploded,
    RocketLaunched,
    RocketMissionChanged,
    RocketSpeedDecreased,
    RocketSpeedIncreased,
)

__all__ = [
    "PAYLOAD_TYPES",
    "RocketExploded",
    "RocketLaunched",
    "RocketMissionChanged",
    "RocketSpeedDecreased",
    "RocketSpeedIncreased",
]
