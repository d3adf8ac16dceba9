"""rockets: a plugin-driven event-sourcing server for rocket telemetry.

This module is the public plugin API: a plugin imports what it needs from ``rockets`` and
nothing else of the package. The hooks are specified in :mod:`rockets.hookspecs`.

- :data:`hookimpl` marks a hook implementation;
- :class:`EventType` is what ``register_event_types`` returns; :class:`Event` is what an
  ``apply`` function, a validator and a listener receive; :class:`RocketState` is the state
  they read and return (subclass it to add fields with ``extend_rocket_state``);
- :class:`ProjectionType` is what ``register_projections`` returns;
- :class:`Scenario` and :class:`Planned` are what ``register_launch_scenarios`` returns;
- :class:`RocketsView` is what ``register_routes``, ``startup`` and ``shutdown`` receive;
- :data:`Count` is the constraint for a non-negative integer every JSON client reads back
  exactly (a speed, an amount).

Names are loaded when first used, so that importing the SDK (``rockets.client``) loads no part
of the server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rockets.distribution import installed_version

if TYPE_CHECKING:
    from rockets.core.registry import EventType, ProjectionType
    from rockets.hookspecs import hookimpl
    from rockets.scenario import Planned, Scenario
    from rockets.state import Event, RocketState
    from rockets.view import RocketsView
    from rockets.wire import Count

    __version__: str

__all__ = [
    "Count",
    "Event",
    "EventType",
    "Planned",
    "ProjectionType",
    "RocketState",
    "RocketsView",
    "Scenario",
    "__version__",
    "hookimpl",
]

_HOMES = {
    "hookimpl": "rockets.hookspecs",
    "EventType": "rockets.core.registry",
    "ProjectionType": "rockets.core.registry",
    "Planned": "rockets.scenario",
    "Scenario": "rockets.scenario",
    "Event": "rockets.state",
    "RocketState": "rockets.state",
    "RocketsView": "rockets.view",
    "Count": "rockets.wire",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()[name] = installed_version()
        return globals()[name]
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'rockets' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
