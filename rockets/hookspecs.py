"""The plugin contract: every hook a rockets plugin may implement.

This module is the public API for plugin authors. Each hookspec's docstring is its specification:
what the arguments are, what the return value means and how results of several plugins combine.
Implement a hook by decorating a module-level function (or method) of the same name with
:data:`hookimpl`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from litestar.handlers import BaseRouteHandler
    from litestar.router import Router

    from rockets.core.registry import EventType, ProjectionType
    from rockets.scenario import Scenario
    from rockets.state import Event, RocketState
    from rockets.view import RocketsView

__all__ = [
    "PROJECT_NAME",
    "event_applied",
    "extend_rocket_state",
    "hookimpl",
    "hookspec",
    "register_event_types",
    "register_launch_scenarios",
    "register_projections",
    "register_routes",
    "shutdown",
    "startup",
    "validate_message",
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
        A sequence of :class:`rockets.EventType` records, one per ``messageType``: the msgspec
        ``Struct`` its ``message`` payload decodes into, whose class name is the type's name as
        it appears in ``metadata.messageType`` (a ``message_type`` class attribute overrides it),
        and the pure function that applies it to a rocket's state; optionally an ``example``
        payload, which the API documentation's request examples send (one is made from the
        Struct otherwise).

    Results are collected from every plugin. A ``messageType`` may be registered by one plugin
    only: a second registration stops the application from starting, naming both plugins. An
    exception stops it too, naming the plugin.

    The ``apply`` function receives the rocket's current :class:`rockets.RocketState` and the
    :class:`rockets.Event` being applied, and returns the new state (build it with
    ``msgspec.structs.replace``). It must be pure and fast: no I/O, no clock, no randomness, no
    exception for a payload that passed the schema, because it is called again with the same
    arguments whenever the state is rebuilt from the event log. When the event changes nothing,
    return the ``state`` argument itself: the core then leaves ``updatedAt`` untouched. The core
    sets ``lastMessageNumber`` and ``updatedAt``; values a plugin puts there are overwritten.
    Each call is timed against ``ROCKETS_PLUGIN_CALL_BUDGET_MS``: a slower one is logged as a
    WARNING naming the plugin and counted in ``rockets_plugin_slow_calls_total``. A call that
    never returns cannot be interrupted: it holds its worker until the process stops.

    From version 2 of a payload on, ``upcasters`` turn stored payloads of older versions into
    the current one: ``{1: (PayloadV1, from_version_1)}`` decodes the stored payload into
    ``PayloadV1`` (strictly: one that does not fit fails on the first event, naming the plugin
    and the version) and hands it to a typed function; ``{1: f}`` hands ``f`` the JSON as dicts.
    """
    raise NotImplementedError  # pragma: no cover - a spec has no body


@hookspec
def register_projections() -> Sequence[ProjectionType[Any]]:
    """Declare read models of this plugin's own, kept up to date over every event.

    Called once per application, while it is being built.

    Returns:
        A sequence of :class:`rockets.ProjectionType` records: a name, an initial value (a
        msgspec Struct) and ``apply(value, event, state) -> value``, called for every event of
        every channel in the order the store gave them their positions, ``state`` being the
        rocket's state right after the event. Instead of (or besides) ``apply``, ``handlers``
        maps payload Structs to handlers called the same way for the events of that type only,
        each typed with its payload (``event: Event[RocketLanded]``); a handler for a type no
        loaded plugin registers stops the start.

    Results are collected from every plugin; a name may be registered once. The core keeps the
    value, rebuilds it from the log when the app starts (on PostgreSQL, from the value it kept
    and the events after it), follows every process's events on PostgreSQL, and serves it at
    ``GET /projections/{name}`` (and to plugins' routes through the view). An ``apply`` that
    raises stops that projection (its value frozen; the error and the position shown by
    ``GET /plugins`` and ``/metrics``), never the ingestion.
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
    uses the one named by ``--scenario``, or the first registered. Plain
    :class:`rockets.Scenario` and :class:`rockets.Planned` records, importable from ``rockets``.
    """
    raise NotImplementedError  # pragma: no cover - a spec has no body


@hookspec
def extend_rocket_state() -> type[RocketState] | None:
    """Declare the state fields this plugin owns.

    Called once per application, while it is being built.

    Returns:
        A subclass of :class:`rockets.RocketState` that adds fields, each with a type and a
        default (``fuel: int = 0``), or None. Only the fields the subclass adds count: the app
        builds one state type holding the built-in fields and every plugin's fields, so the
        subclass is never instantiated by the server, but it is what an SDK user decodes into
        to read the fields with their types.

    The fields appear in every rocket state the API returns (named in camelCase, like the
    built-in ones), can be sorted and filtered on in ``GET /rockets``, are documented in
    OpenAPI, and start at their default for every rocket. The plugin's ``apply`` functions set
    them with ``msgspec.structs.replace(state, fuel=...)``. Redefining a built-in field, a field
    another plugin owns, or a name the API uses as a query parameter (``sort``, ``order``,
    ``limit``, ``offset``, ``at``, ``from``) stops the application from starting.
    """
    raise NotImplementedError  # pragma: no cover - a spec has no body


@hookspec
def validate_message(event: Event[Any]) -> str | None:
    """Accept or reject a message before it is stored.

    Called for every message of a request once it has been decoded and passed its schema, before
    anything of the request is stored; a batch is rejected as a whole if one of its messages is.

    Args:
        event: the message, its payload decoded into the type's Struct (``event.message``).
            ``message_number`` is 0 when the sender left the number to the server, and
            ``channel`` is the generated one when the sender gave none.

    Returns:
        None to let the message through, or the reason it is refused: the client gets 422 with
        that reason as ``detail``, the plugin's name as ``plugin`` and the message's path.

    Every plugin is asked, in turn; the first reason wins. Keep it fast and free of I/O: it runs
    on the event loop for every message. Each call is timed against
    ``ROCKETS_PLUGIN_CALL_BUDGET_MS`` (a slower one is a WARNING naming the plugin, and counted);
    one that never returns holds the event loop, which nothing can interrupt. An exception is
    treated as a bug of the plugin: the message is refused with a 500 and the exception is
    logged, naming the plugin.
    """
    raise NotImplementedError  # pragma: no cover - a spec has no body


@hookspec
def event_applied(event: Event[Any], state: RocketState) -> None:
    """Hear about every event once it is applied and stored.

    Called after the store has committed the group that applied ``event``, in each channel's
    event order, with ``state`` the rocket's state right after this event. Listeners feed
    metrics, webhooks, streams; they cannot change anything.

    Every listener is called separately: an exception is logged with the plugin's name and the
    other listeners still hear about the event; the event itself stays applied and stored
    (it was committed before any listener ran). Listeners run on the worker that applied the
    event, so a slow one slows ingestion: hand slow work to a task or a queue of your own.
    """
    raise NotImplementedError  # pragma: no cover - a spec has no body


@hookspec
def register_routes(view: RocketsView) -> Sequence[BaseRouteHandler | Router]:
    """Add HTTP routes to the application.

    Called once per application, while it is being built (the service is not started yet:
    keep ``view`` and call its read methods from the routes).

    Args:
        view: the plugin's read-only view of the data (:class:`rockets.RocketsView`): the
            ``registry`` and the read methods ``rocket``, ``rockets``, ``events``, ``health``.

    Returns:
        Litestar route handlers (``@get``, ``@post``, …) or routers. They are registered as the
        built-in routes are, appear in OpenAPI, and answer errors with the same JSON body. A
        path that collides with another route, or an exception, stops the application from
        starting, naming the plugin.

    The built-in routes' paths are reserved: ``/``, and ``/messages``, ``/rockets``,
    ``/stream``, ``/health``, ``/metrics``, ``/plugins``, ``/projections``, ``/stalled``,
    ``/schema``, ``/dashboard`` and everything under them, and a path that starts with a path
    parameter; a route there stops the start, in one line naming the plugin and the path. The
    routes meet the tokens every built-in route meets (reads the read token, writes the ingest
    token) unless a handler (or a router, for all its routes) declares itself public:
    ``opt={"public": True}``.
    """
    raise NotImplementedError  # pragma: no cover - a spec has no body


@hookspec
def startup(view: RocketsView) -> Awaitable[None] | None:
    """Run when the service starts, after the store is open and before the first request.

    Args:
        view: the plugin's read-only view of the data (see ``register_routes``).

    The implementation may be a plain function or a coroutine function (its coroutine is
    awaited). An exception stops the start-up, as a store that cannot open does, naming the
    plugin; so does a hook still running after ``ROCKETS_HOOK_TIMEOUT`` (a coroutine is
    cancelled then; a function that blocks without awaiting cannot be, and is told only once it
    returns).
    """
    raise NotImplementedError  # pragma: no cover - a spec has no body


@hookspec
def shutdown(view: RocketsView) -> Awaitable[None] | None:
    """Run when the service stops, after the last queued message is applied and before the
    store is closed.

    Args:
        view: the plugin's read-only view of the data (see ``register_routes``).

    The implementation may be a plain function or a coroutine function (its coroutine is
    awaited). An exception is logged, naming the plugin, and does not keep the other plugins'
    shutdown from running; a coroutine still running after ``ROCKETS_HOOK_TIMEOUT`` is cancelled
    and logged alike.
    """
    raise NotImplementedError  # pragma: no cover - a spec has no body
