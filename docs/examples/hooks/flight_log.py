"""A listener with its own route: counts applied events per type and serves the counts.

Shows four hooks: ``startup`` and ``shutdown`` (here a coroutine), ``event_applied`` and
``register_routes``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import msgspec
from litestar import get
from litestar.handlers import BaseRouteHandler

from rockets import Event, RocketState, RocketsView, hookimpl

counts: Counter[str] = Counter()
fastest: dict[str, int] = {}
lifecycle: list[str] = []


@hookimpl
def startup(view: RocketsView) -> None:
    counts.clear()
    fastest.clear()
    lifecycle.append(f"started with {len(view.registry)} message types")


@hookimpl
async def shutdown(view: RocketsView) -> None:
    lifecycle.append(f"stopped after {sum(counts.values())} events")


@hookimpl
def event_applied(event: Event[Any], state: RocketState) -> None:
    counts[event.message_type] += 1
    fastest[state.channel] = max(fastest.get(state.channel, 0), state.speed)


class FlightLog(msgspec.Struct, rename="camel"):
    events: dict[str, int]
    top_speeds: dict[str, int]


@get("/flight-log", tags=["flight log"])
async def flight_log() -> FlightLog:
    """How many events of each type were applied since start, and each rocket's top speed."""
    return FlightLog(events=dict(counts), top_speeds=dict(fastest))


@hookimpl
def register_routes(view: RocketsView) -> Sequence[BaseRouteHandler]:
    return [flight_log]
