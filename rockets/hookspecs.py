"""The plugin contract: every hook a rockets plugin may implement.

This module is the public API for plugin authors. Each hookspec's docstring is its specification:
what the arguments are, what the return value means and how results of several plugins combine.
Implement a hook by decorating a module-level function (or method) of the same name with
:data:`hookimpl`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from rockets.registry import EventType
    from rockets.scenario import Scenario

__all__ = [
    "PROJECT_NAME",
    "hookimpl",
    "hookspec",
    "register_event_types",
    "register_launch_scenarios",
]

PROJECT_NAME = "rockets"
"""The pluggy project name, which is also the entry-point group plugins are published under."""

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_event_types() -> Sequence[EventType[Any]]:
    """Declare the message types this plugin understands.

    Called once per application, while it is being built, before any message is accepted.

    Returns:
        A sequence of :class:`rockets.EventType` records, one per ``messageType``: the type's
        name as it appears in ``metadata.messageType``, the msgspec ``Struct`` its ``message``
        payload decodes into, and the pure function that applies it to a rocket's state.

    Results are collected from every plugin. A ``messageType`` may be registered by one plugin
    only: a second registration stops the application from starting, naming both plugins.

    The ``apply`` function receives the rocket's current :class:`rockets.RocketState` and the
    :class:`rockets.Event` being applied, and returns the new state (build it with
    ``msgspec.structs.replace``). It must be pure and fast: no I/O, no clock, no randomness, no
    exception for a payload that passed the schema, because it is called again with the same
    arguments whenever the state is rebuilt from the event log. When the event changes nothing,
    return the ``state`` argument itself: the core then leaves ``updatedAt`` untouched. The core
    sets ``lastMessageNumber`` and ``updatedAt``; values a plugin puts there are overwritten.
    """
    raise NotImplementedError  # pragma: no cover - a spec has no body


@hookspec
def register_launch_scenarios() -> Sequence[Scenario]:
    """Offer traffic for ``rockets launch`` to send.

    Called when ``rockets launch`` starts, never by the server.

    Returns:
        A sequence of :class:`rockets.scenario.Scenario` records, each able to invent a rocket's
        life (a list of messages of this plugin's types, the first one bringing the rocket into
        being) and to say, independently of the ``apply`` functions, which state that life must
        end in. ``--verify`` compares the server's state with it.

    Results are collected from every plugin; scenario names must be unique. ``rockets launch``
    uses the one named by ``--scenario``, or the first registered.
    """
    raise NotImplementedError  # pragma: no cover - a spec has no body
