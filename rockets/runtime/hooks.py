"""The one caller of the plugins' hooks: one typed method per hook.

Every hook is called one plugin at a time (a caller per plugin is built once, so that
``ROCKETS_TRACE_HOOKS`` still traces each call), so that every result is attributed to its
plugin and every failure is reported the same way: ``plugin 'name' failed in hook: error``,
raised as a :class:`PluginError` where the failure must stop something (building the app,
starting it, a message's validation) and logged where it must not (listeners, shutdown).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable
from typing import Any

import pluggy

from rockets.core.aggregate import event_of
from rockets.core.registry import ProjectionType, Registry, build_registry, check_projections
from rockets.errors import PluginError
from rockets.records import Applied
from rockets.runtime.plugin_manager import PluginManager, build_plugin_manager
from rockets.scenario import Scenario
from rockets.settings import Settings
from rockets.state import Event
from rockets.view import RocketsView

__all__ = ["PluginHooks"]

log = logging.getLogger("rockets.plugins")


def _failed(plugin: str, hook: str, exc: BaseException) -> PluginError:
    """The one way a hook's failure is told."""
    return PluginError(f"plugin {plugin!r} failed in {hook}: {exc!r}")


class PluginHooks:
    """The hooks of one app's plugins.

    Args:
        manager: the app's plugin manager, every plugin registered.
    """

    def __init__(self, manager: PluginManager) -> None:
        self.manager = manager
        self._callers = {name: self._per_plugin(name) for name in vars(manager.hook)}
        self._listeners = self._callers["event_applied"]
        self._validators = self._callers["validate_message"]
        self.listener_failures = 0

    @classmethod
    def load(cls, settings: Settings) -> PluginHooks:
        """The plugins ``settings`` name, loaded into a new plugin manager."""
        return cls(build_plugin_manager(settings))

    def _per_plugin(self, hook: str) -> list[tuple[str, pluggy.HookCaller]]:
        implementations = getattr(self.manager.hook, hook).get_hookimpls()
        plugins = [impl.plugin for impl in implementations]  # first registered first
        return [
            (
                self.manager.get_name(plugin) or "?",
                self.manager.subset_hook_caller(hook, [p for p in plugins if p is not plugin]),
            )
            for plugin in plugins
        ]

    def _collect(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """``(plugin, result)`` of every implementation; the first failure stops the app."""
        results = []
        for plugin, caller in self._callers[hook]:
            try:
                (result,) = caller(**kwargs) or [None]
            except Exception as exc:
                raise _failed(plugin, hook, exc) from exc
            results.append((plugin, result))
        return results

    # --- hooks called while the app is built --------------------------------------------------

    def registry(self) -> Registry:
        """The registry of the plugins' message types (``register_event_types``) and state
        fields (``extend_rocket_state``)."""
        return build_registry(
            self._collect("register_event_types"), self._collect("extend_rocket_state")
        )

    def projection_types(self) -> list[tuple[str, ProjectionType[Any]]]:
        """Every projection offered by ``register_projections``, with its plugin."""
        return check_projections(self._collect("register_projections"))

    def routes(self, view: RocketsView) -> list[tuple[str, Any]]:
        """``(plugin, returned)`` of every ``register_routes``."""
        return self._collect("register_routes", view=view)

    def launch_scenarios(self) -> list[tuple[str, Scenario]]:
        """Every scenario offered by ``register_launch_scenarios``, with its plugin."""
        found = []
        for plugin, offered in self._collect("register_launch_scenarios"):
            for scenario in offered or ():
                if not isinstance(scenario, Scenario):
                    raise PluginError(
                        f"plugin {plugin!r}: register_launch_scenarios must return Scenario "
                        f"records, got {type(scenario).__name__}"
                    )
                found.append((plugin, scenario))
        return found

    # --- hooks called while the app runs ------------------------------------------------------

    @property
    def has_listeners(self) -> bool:
        return bool(self._listeners)

    @property
    def has_validators(self) -> bool:
        return bool(self._validators)

    def validate(self, event: Event[Any]) -> tuple[str, str] | None:
        """The first plugin that refuses ``event`` and its reason, or None.

        Raises:
            PluginError: a validator raised: a bug of that plugin, not a refusal.
        """
        for plugin, caller in self._validators:
            try:
                reasons = caller(event=event)
            except Exception as exc:
                raise _failed(plugin, "validate_message", exc) from exc
            for reason in reasons:
                if reason is not None:
                    return plugin, str(reason)
        return None

    def applied(self, registry: Registry, events: Iterable[Applied]) -> None:
        """Tell every listener about events just committed, each with the state it led to. A
        listener that fails is logged; the others still hear about the event."""
        for applied in events:
            record = applied.record
            event = event_of(registry, record)
            for plugin, caller in self._listeners:
                try:
                    caller(event=event, state=applied.state)
                except Exception as exc:
                    self.listener_failures += 1
                    log.exception(
                        "%s (%s#%d stays applied)",
                        _failed(plugin, "event_applied", exc),
                        record.channel,
                        record.message_number,
                    )

    async def startup(self, view: RocketsView) -> None:
        """Run every ``startup``; the first failure stops the start.

        Raises:
            PluginError: naming the plugin that failed.
        """
        for plugin, caller in self._callers["startup"]:
            try:
                await self._run(caller, view)
            except Exception as exc:
                raise _failed(plugin, "startup", exc) from exc

    async def shutdown(self, view: RocketsView) -> None:
        """Run every ``shutdown``; a failure is logged and the others still run."""
        for plugin, caller in self._callers["shutdown"]:
            try:
                await self._run(caller, view)
            except Exception as exc:
                log.exception("%s", _failed(plugin, "shutdown", exc))

    @staticmethod
    async def _run(caller: pluggy.HookCaller, view: RocketsView) -> None:
        for result in caller(view=view):
            if inspect.isawaitable(result):
                await result
