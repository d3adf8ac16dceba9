"""The Litestar application: ``create_app`` builds one, ``litestar run`` and ``rockets serve``
serve it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Router
from litestar.exceptions import ImproperlyConfiguredException
from litestar.handlers import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.plugins.prometheus import PrometheusConfig

from rockets import __version__
from rockets.errors import PluginError
from rockets.hookcalls import PluginHooks
from rockets.logs import request_ids
from rockets.plugins import PluginManager, call_each
from rockets.registry import build_registry
from rockets.routes import build_routes, exception_handlers
from rockets.security import auth_guard, cors_config, security_headers
from rockets.service import RocketService
from rockets.settings import Settings
from rockets.stores import Store

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> Litestar:
    """Build a rockets app: plugins, registry and service are new for every call.

    Args:
        settings: the configuration; read from the environment when omitted.
        store: an event store to use instead of the one ``settings.store`` names.

    Raises:
        PluginError: a plugin failed to load, registered something invalid, or added a route
            that collides with another.
        SettingsError: a setting is invalid.
    """
    settings = settings if settings is not None else Settings.from_env()
    pm = settings.plugin_manager()
    registry = build_registry(pm)
    hooks = PluginHooks(pm, registry)
    service = RocketService(settings, registry, store, hooks)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    try:
        app = Litestar(
            route_handlers=[*build_routes(service, pm), *_plugin_routes(pm, service)],
            exception_handlers=exception_handlers,
            lifespan=[lifespan],
            guards=[guard] if (guard := auth_guard(settings)) is not None else [],
            cors_config=cors_config(settings),
            before_send=[security_headers],
            middleware=[
                request_ids,
                PrometheusConfig(
                    app_name="rockets",
                    prefix="rockets_http",
                    group_path=True,
                    exclude=["/metrics", "/stream"],
                ).middleware,
            ],
            openapi_config=OpenAPIConfig(
                title="rockets",
                version=__version__,
                description="Event-sourced rocket telemetry: post messages, read rocket states.",
                path="/schema",
                create_examples=False,
            ),
        )
    except ImproperlyConfiguredException as exc:
        raise PluginError(f"the routes do not fit together (a plugin's route?): {exc}") from exc
    app.state.rockets = service
    app.state.plugins = pm
    return app


def _plugin_routes(pm: PluginManager, service: RocketService) -> list[Any]:
    routes: list[Any] = []
    for plugin, returned in call_each(pm, "register_routes", service=service):
        for route in returned or ():
            if not isinstance(route, BaseRouteHandler | Router):
                raise PluginError(
                    f"plugin {plugin!r}: register_routes must return Litestar route handlers or "
                    f"routers, got {type(route).__name__}"
                )
            routes.append(route)
    return routes
