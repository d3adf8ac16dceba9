"""rockets: a plugin-driven event-sourcing server for rocket telemetry.

This module is the public plugin API: a plugin imports what it needs from ``rockets`` and
nothing else of the package. The hooks are specified in :mod:`rockets.hookspecs`.

- :data:`hookimpl` marks a hook implementation;
- :class:`EventType` is what ``register_event_types`` returns; :class:`Event` is what an
  ``apply`` function, a validator and a listener receive; :class:`RocketState` is the state
  they read and return (subclass it to add fields with ``extend_rocket_state``);
- :class:`ProjectionType` is what ``register_projections`` returns;
- :class:`Scenario` and :class:`Planned` are what ``register_launch_scenarios`` returns;
- :class:`RocketsView` is what ``register_routes``, ``startup`` and ``shutdown`` receive; what
  its methods take and return: :class:`RocketQuery`, :class:`EventView`, :class:`Health`,
  :class:`Registry`; what they raise: :class:`NotFoundError` (:class:`UnknownChannelError`,
  :class:`UnknownProjectionError`), which a route lets through as a 404;
- :func:`fields` reads a state as the plugin's own state class, typed:
  ``fields(state, FuelState).fuel``;
- :data:`Count` is the constraint for a non-negative integer every JSON client reads back
  exactly (a speed, an amount);
- :class:`StreamedEvent` and :class:`StreamReset` are the ``data`` of ``GET /stream``'s events;
- :class:`RocketsError` is the base of every error rockets raises on purpose, and
  :class:`PluginError` what a plugin that cannot load or run is told with.

The test kit is :mod:`rockets.testing` (and its pytest plugin, loaded by pytest on its own), the
SDK :mod:`rockets.client`.

Names are loaded when first used, so that importing the SDK (``rockets.client``) loads no part
of the server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rockets.distribution import installed_version

if TYPE_CHECKING:
    from rockets.core.registry import EventType, ProjectionType, Registry
    from rockets.core.state_view import fields
    from rockets.errors import (
        NotFoundError,
        PluginError,
        RocketsError,
        UnknownChannelError,
        UnknownProjectionError,
    )
    from rockets.hookspecs import hookimpl
    from rockets.scenario import Planned, Scenario
    from rockets.state import Event, RocketState, SetAside
    from rockets.view import RocketsView
    from rockets.wire import Count, EventView, Health, RocketQuery, StreamedEvent, StreamReset

    __version__: str

__all__ = [
    "Count",
    "Event",
    "EventType",
    "EventView",
    "Health",
    "NotFoundError",
    "Planned",
    "PluginError",
    "ProjectionType",
    "Registry",
    "RocketQuery",
    "RocketState",
    "RocketsError",
    "RocketsView",
    "Scenario",
    "SetAside",
    "StreamReset",
    "StreamedEvent",
    "UnknownChannelError",
    "UnknownProjectionError",
    "__version__",
    "fields",
    "hookimpl",
]

_HOMES = {
    "hookimpl": "rockets.hookspecs",
    "EventType": "rockets.core.registry",
    "ProjectionType": "rockets.core.registry",
    "Registry": "rockets.core.registry",
    "fields": "rockets.core.state_view",
    "NotFoundError": "rockets.errors",
    "PluginError": "rockets.errors",
    "RocketsError": "rockets.errors",
    "UnknownChannelError": "rockets.errors",
    "UnknownProjectionError": "rockets.errors",
    "Planned": "rockets.scenario",
    "Scenario": "rockets.scenario",
    "Event": "rockets.state",
    "RocketState": "rockets.state",
    "SetAside": "rockets.state",
    "RocketsView": "rockets.view",
    "Count": "rockets.wire",
    "EventView": "rockets.wire",
    "Health": "rockets.wire",
    "RocketQuery": "rockets.wire",
    "StreamedEvent": "rockets.wire",
    "StreamReset": "rockets.wire",
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
