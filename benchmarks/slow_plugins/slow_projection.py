"""A projection that takes 50 ms per event: a slow plugin, as benchmarks/slow_projection.py
serves it (a drop-in file of ``ROCKETS_PLUGINS_DIR``)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import msgspec

from rockets import Event, ProjectionType, RocketState, hookimpl

SECONDS_PER_EVENT = 0.05


class Seen(msgspec.Struct):
    events: int = 0


def apply(value: Seen, event: Event[Any], state: RocketState) -> Seen:
    time.sleep(SECONDS_PER_EVENT)  # a slow call: a database, a remote service, a big model
    value.events += 1
    return value


@hookimpl
def register_projections() -> Sequence[ProjectionType[Any]]:
    return [
        ProjectionType(
            name="slow",
            initial=Seen(),
            apply=apply,
            description="Counts the events, taking 50 ms over each.",
        )
    ]
