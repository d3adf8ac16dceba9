"""The Litestar application: ``create_app`` builds one, ``litestar run`` and ``rockets serve``
serve it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.openapi import OpenAPIConfig

from rockets import __version__
from rockets.plugins import build_plugin_manager
from rockets.registry import build_registry
from rockets.routes import build_routes, exception_handlers
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
        PluginError: a plugin failed to load or two plugins registered one messageType.
        SettingsError: a setting is invalid.
    """
    settings = settings if settings is not None else Settings.from_env()
    registry = build_registry(build_plugin_manager(settings.plugins_dir, settings.blocked_plugins))
    service = RocketService(settings, registry, store)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = Litestar(
        route_handlers=build_routes(service),
        exception_handlers=exception_handlers,
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="rockets",
            version=__version__,
            description="Event-sourced rocket telemetry: post messages, read rocket states.",
            path="/schema",
            create_examples=False,
        ),
    )
    app.state.rockets = service
    return app
