"""The composition root: where one app's pieces are built and wired, and the app object that
``litestar run`` and ``rockets serve`` both serve.

The CLI, the tests and ``rockets rebuild`` build what they need here rather than on their own:
:func:`load_plugins` (the plugins, behind the hook façade), :func:`build_service` (a service
with its store, workers, stream and metrics) and :func:`create_app` (all of it, served).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any, NoReturn, cast

import msgspec
from litestar import Litestar, Router
from litestar.exceptions import ImproperlyConfiguredException
from litestar.handlers import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.plugins import PluginProtocol

from rockets import __version__
from rockets.core.aggregate import shown
from rockets.core.codec import Codec
from rockets.errors import PluginError, RocketsError
from rockets.http.apidocs import DOCS_PATH, docs_router, render_plugins
from rockets.http.edge import MESSAGES_PATH, DeadlineKeeper, Edge, reserved
from rockets.http.http_series import http_series
from rockets.http.ingress import Ingress
from rockets.http.introspection import describe
from rockets.http.logs import access_log, default_logging
from rockets.http.routes import build_routes, exception_handlers
from rockets.http.server import on_stop_signals
from rockets.http.stream_gate import STREAM_PATH, StreamGate
from rockets.records import Record
from rockets.runtime.collector import settle_collector
from rockets.runtime.engine import Engine, Listener, Outcome
from rockets.runtime.faults import Faults
from rockets.runtime.hooks import PluginHooks
from rockets.runtime.listeners import Listeners
from rockets.runtime.metrics import Metrics
from rockets.runtime.plugin_manager import build_plugin_manager
from rockets.runtime.pool import WorkerPool
from rockets.runtime.projections import Projections
from rockets.runtime.service import RocketService
from rockets.runtime.stream_hub import StreamHub
from rockets.settings import Settings
from rockets.state import RocketState
from rockets.stores import Store, open_store
from rockets.wire import EventView, StreamedEvent

__all__ = ["RocketsApp", "build_service", "create_app", "load_plugins"]


def load_plugins(settings: Settings, *, plugins: Iterable[object] = ()) -> PluginHooks:
    """The plugins ``settings`` name, then ``plugins``, loaded into a new plugin manager,
    behind the hook façade.

    Args:
        settings: the configuration (which entry points, modules and drop-in files load).
        plugins: plugin objects to register after those (modules, class instances: anything
            pluggy registers), with the source ``registered``; one the settings loaded already
            is loaded once (see :func:`rockets.runtime.plugin_manager.build_plugin_manager`).

    Raises:
        PluginError: a plugin failed to load.
    """
    return PluginHooks(build_plugin_manager(settings, plugins), settings)


def build_service(
    settings: Settings,
    *,
    store: Store | None = None,
    hooks: PluginHooks | None = None,
    plugins: Iterable[object] = (),
) -> RocketService:
    """A service with every collaborator built for it (nothing is opened or started yet).

    Args:
        settings: the configuration.
        store: an event store to use instead of the one ``settings.store`` names.
        hooks: the plugins, when already loaded (else loaded as ``settings`` say, with
            ``plugins`` after them).
        plugins: plugin objects to register after those ``settings`` name (see
            :func:`load_plugins`); ignored when ``hooks`` is given.

    Raises:
        PluginError: a plugin failed to load or registered something invalid.
        SettingsError: the store URL is invalid.
    """
    hooks = hooks if hooks is not None else load_plugins(settings, plugins=plugins)
    registry = hooks.registry()
    store = store if store is not None else open_store(settings.store, settings.limits)
    encoder = msgspec.json.Encoder()

    def streamed(record: Record, state: RocketState) -> str:
        # Another process may have written it in an older version of its payload.
        record, _ = shown(registry, record)
        event = StreamedEvent(channel=record.channel, event=EventView.of(record), state=state)
        return encoder.encode(event).decode()

    hub = StreamHub(settings.stream_history, streamed, max_bytes=settings.stream_history_bytes)
    metrics = Metrics()
    # The stream and the projections follow the store's log (see RocketService); what hears
    # this process's commits directly is what is about this process only.
    listeners: list[Listener] = [metrics.applied]
    faults = Faults()
    # The plugins' listeners hear this process's commits in a thread of their own, off the
    # request path: the engine only hands the events over.
    listening = Listeners(hooks, registry, faults) if hooks.has_listeners else None
    if listening is not None:
        listeners.append(listening.offer)
    metrics.registry.register(hooks.slow)
    engine = Engine(
        registry,
        store,
        listeners,
        on_commit=metrics.commit_seconds.observe,
        slow=hooks.slow,
        faults=faults,
    )
    pool: WorkerPool[list[Record], list[Outcome]] = WorkerPool(
        settings.worker_count,
        engine.process,
        max_queue=-(-settings.max_queue // settings.worker_count),
    )
    return RocketService(
        settings=settings,
        registry=registry,
        codec=Codec(registry, settings.max_batch, settings.max_payload_bytes),
        store=store,
        pool=pool,
        hub=hub,
        metrics=metrics,
        hooks=hooks,
        projections=Projections(hooks.projection_types(registry), registry),
        faults=faults,
        engine=engine,
        listeners=listening,
    )


class RocketsApp(Litestar):
    """The rockets app: a Litestar app whose own entry point answers ``POST /messages``.

    That request is the hot path, so it is answered here at the cost of a raw ASGI app (a
    route handler costs several times more), by :class:`rockets.http.ingress.Ingress`; every
    other request goes through Litestar, wrapped by :meth:`rockets.http.edge.Edge.around`. Both
    meet the same edge rules, applied by the same :class:`rockets.http.edge.Edge`. Whoever
    serves this object (``litestar run``, ``rockets serve``, a test client) serves the same
    front door. :func:`create_app` builds one.

    Args:
        service: the service behind the routes.
        edge: the edge rules every request meets.
        ingress: the front door of ``POST /messages``.
        streams: the gate of ``GET /stream``.
        **options: Litestar's own arguments (route handlers, lifespan, ...).
    """

    def __init__(
        self,
        *,
        service: RocketService,
        edge: Edge,
        ingress: Ingress,
        streams: StreamGate,
        **options: Any,
    ) -> None:
        self.service = service
        self.edge = edge
        self.ingress = ingress
        self.streams = streams
        self.on_start_failure: Callable[[RocketsError], NoReturn] | None = None
        """What a start that fails does instead of raising (the store cannot open, a plugin's
        ``startup`` fails): ``litestar run`` ends the process with one line
        (:mod:`rockets.litestar_cli`), where uvicorn would print a traceback. None: it raises."""
        super().__init__(**options)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # Typed loosely on purpose: the hot path pays no casts for Litestar's TypedDicts.
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        edge = self.edge
        path = scope["path"]
        if edge.too_many_headers(scope):
            await edge.refuse(scope, send, edge.headers_too_large, receive)
        elif path == MESSAGES_PATH and scope["method"] == "POST":
            await self.ingress(scope, receive, send)
        elif path == STREAM_PATH and scope["method"] in ("GET", "HEAD"):
            await self.streams(super().__call__, scope, receive, send)
        else:
            await edge.around(super().__call__, scope, receive, send)


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    deadlines: DeadlineKeeper = "app",
    plugins: Iterable[object] = (),
    extensions: Iterable[PluginProtocol] = (),
) -> RocketsApp:
    """Build a rockets app: plugins, registry, store and service are new for every call.

    Args:
        settings: the configuration; read from the environment when omitted.
        store: an event store to use instead of the one ``settings.store`` names.
        plugins: plugin objects (modules, class instances: anything pluggy registers) to load
            after those the settings name, with the source ``registered``: ``plugins=`` adds to
            the settings, whose entry points (``plugin_autoload``) load too; a test that wants
            its plugins and the standard types only builds its settings with
            :func:`rockets.testing.standard_settings`.
        deadlines: who keeps the deadline on reading a request (``ROCKETS_REQUEST_TIMEOUT``):
            ``"app"`` (the default), the app itself, at the ASGI level, whatever server runs
            it; ``"server"``, the server, from a request's first byte, which covers its head
            and its body (``rockets serve``'s protocol, :mod:`rockets.http.server`): the app
            then keeps none, which spares every request the bookkeeping. An app built with
            ``"server"`` and served by another server has no body deadline.
        extensions: Litestar plugins of the app (not rockets plugins): the one of Litestar's
            CLI, :class:`rockets.litestar_cli.RocketsCLIPlugin`, for ``litestar run``.

    Raises:
        PluginError: a plugin failed to load, registered something invalid, or added a route
            that collides with another.
        SettingsError: a setting is invalid.
    """
    settings = settings if settings is not None else Settings.from_env()
    hooks = load_plugins(settings, plugins=plugins)
    service = build_service(settings, store=store, hooks=hooks)
    edge = Edge(settings, deadlines=deadlines)
    ingress = Ingress(edge, service, service.metrics)
    streams = StreamGate(settings, edge, service.hub)

    @asynccontextmanager
    async def lifespan(served: Litestar) -> AsyncIterator[None]:
        default_logging()
        access_log(settings.access_log)
        try:
            await service.start()
        except RocketsError as exc:
            end = cast(RocketsApp, served).on_start_failure
            if end is None:
                raise
            end(exc)
        settle_collector()
        edge.deadlines.start()
        on_stop_signals(streams.close)
        try:
            yield
        finally:
            await edge.deadlines.stop()
            await service.stop()

    report = describe(hooks.manager, service.registry)
    try:
        app = RocketsApp(
            service=service,
            edge=edge,
            ingress=ingress,
            streams=streams,
            route_handlers=[
                *build_routes(service, ingress, report),
                *_plugin_routes(hooks, service),
            ],
            exception_handlers=exception_handlers,
            lifespan=[lifespan],
            plugins=list(extensions),
            guards=[edge.guard] if edge.tokens.active else [],
            middleware=[http_series(service.metrics)],
            openapi_config=OpenAPIConfig(
                title="rockets",
                version=__version__,
                description="Event-sourced rocket telemetry: post messages, read rocket states.",
                path=DOCS_PATH,  # what Litestar's CLI shows; the router is the one served
                create_examples=False,
                openapi_router=docs_router(),
                render_plugins=render_plugins(),
            ),
        )
    except ImproperlyConfiguredException as exc:
        raise PluginError(f"the routes do not fit together (a plugin's route?): {exc}") from exc
    return app


def _plugin_routes(hooks: PluginHooks, service: RocketService) -> list[Any]:
    """The plugins' routes, each at a path of its own: none may take a reserved path (the
    built-in routes' and what is under them, ``/``), so that none can shadow a built-in route
    or pass for one of the paths that need no token.

    Raises:
        PluginError: a plugin returned something else than routes, or a route at a reserved
            path (one line naming the plugin and the path).
    """
    routes: list[Any] = []
    for plugin, returned in hooks.routes(service.view):
        for route in returned or ():
            if not isinstance(route, BaseRouteHandler | Router):
                raise PluginError(
                    f"plugin {plugin!r}: register_routes must return Litestar route handlers or "
                    f"routers, got {type(route).__name__}"
                )
            paths = route.paths if isinstance(route, BaseRouteHandler) else _router_paths(route)
            for path in sorted(paths):
                why = reserved(path)
                if why is not None:
                    raise PluginError(
                        f"plugin {plugin!r}: route {path!r} is at a reserved path: {why} "
                        "(docs/plugin_hooks.md, register_routes)"
                    )
            routes.append(route)
    return routes


def _router_paths(router: Router) -> set[str]:
    return {route.path for route in router.routes}
