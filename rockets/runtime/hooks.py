"""The one caller of the plugins' hooks: one typed method per hook.

Every hook is called one plugin at a time (a caller per plugin is built once, so that
``ROCKETS_TRACE_HOOKS`` still traces each call), so that every result is attributed to its
plugin and every failure is reported the same way: ``plugin 'name' failed in hook: error``,
raised as a :class:`PluginError` where the failure must stop something (building the app,
starting it, a message's validation) and logged where it must not (shutdown); a listener that
raises is stopped, and told through the faults (:mod:`rockets.runtime.listeners`).

The lifecycle hooks have a time limit (``ROCKETS_HOOK_TIMEOUT``); the validators are timed
against the budget of the ingest path (``ROCKETS_PLUGIN_CALL_BUDGET_MS``, see
:mod:`rockets.runtime.slow_calls`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Iterable
from time import perf_counter
from typing import Any

import pluggy

from rockets.core.aggregate import event_of
from rockets.core.registry import ProjectionType, Registry, build_registry, check_projections
from rockets.errors import PluginError
from rockets.records import Applied, Record
from rockets.runtime.plugin_manager import PluginManager, build_plugin_manager
from rockets.runtime.slow_calls import SlowCalls
from rockets.scenario import Scenario
from rockets.settings import Settings
from rockets.state import Event
from rockets.view import RocketsView

__all__ = ["PluginHooks"]

log = logging.getLogger("rockets.plugins")


class _OverdueError(Exception):
    """A lifecycle hook that did not return within the time limit (its sentence)."""


def _failed(plugin: str, hook: str, exc: BaseException) -> PluginError:
    """The one way a hook's failure is told."""
    return PluginError(f"plugin {plugin!r} failed in {hook}: {exc!r}")


class PluginHooks:
    """The hooks of one app's plugins.

    Args:
        manager: the app's plugin manager, every plugin registered.
        settings: where the time limit of the lifecycle hooks and the budget of a call on the
            ingest path are read (their defaults when omitted).
    """

    def __init__(self, manager: PluginManager, settings: Settings | None = None) -> None:
        settings = settings if settings is not None else Settings()
        self.manager = manager
        self.hook_timeout = settings.hook_timeout
        self.slow = SlowCalls(settings.plugin_call_budget_ms / 1000, settings.log_summary_seconds)
        """The slow calls of ``apply`` and the validators (a Prometheus collector too)."""
        self._callers = {name: self._per_plugin(name) for name in vars(manager.hook)}
        self._listeners = self._callers["event_applied"]
        self._validators = self._callers["validate_message"]
        self.listener_failures = 0
        self._stopped_listeners: set[str] = set()

    @classmethod
    def load(cls, settings: Settings) -> PluginHooks:
        """The plugins ``settings`` name, loaded into a new plugin manager."""
        return cls(build_plugin_manager(settings), settings)

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

    def projection_types(
        self, registry: Registry | None = None
    ) -> list[tuple[str, ProjectionType[Any]]]:
        """Every projection offered by ``register_projections``, with its plugin; the handlers
        of a projection are checked against ``registry`` (the app's, built when omitted)."""
        offered = self._collect("register_projections")
        return check_projections(offered, registry if registry is not None else self.registry())

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
        slow = self.slow
        for plugin, caller in self._validators:
            started = perf_counter()
            try:
                reasons = caller(event=event)
            except Exception as exc:
                raise _failed(plugin, "validate_message", exc) from exc
            took = perf_counter() - started
            if took > slow.budget:
                slow.took(plugin, "validate_message", took, event.message_type)
            for reason in reasons:
                if reason is not None:
                    return plugin, str(reason)
        return None

    @property
    def listener_plugins(self) -> list[str]:
        """The plugins whose ``event_applied`` listener still runs."""
        return [plugin for plugin, _ in self._listeners if plugin not in self._stopped_listeners]

    def applied(
        self, registry: Registry, events: Iterable[Applied]
    ) -> list[tuple[str, Exception, Record]]:
        """Tell every listener about events just committed, each with the state it led to
        (called in the listeners' thread, :mod:`rockets.runtime.listeners`). A listener that
        raises is stopped: it hears nothing more until the server restarts, and the others
        still hear every event. Returns ``(plugin, exception, event)`` for each that stopped,
        for the caller to tell."""
        stopped: list[tuple[str, Exception, Record]] = []
        listening = [
            (plugin, caller)
            for plugin, caller in self._listeners
            if plugin not in self._stopped_listeners
        ]
        for applied in events:
            if not listening:
                break
            record = applied.record
            event = event_of(registry, record)
            for plugin, caller in listening:
                try:
                    caller(event=event, state=applied.state)
                except Exception as exc:
                    self.listener_failures += 1
                    self._stopped_listeners.add(plugin)
                    stopped.append((plugin, exc, record))
            if stopped:
                listening = [pair for pair in listening if pair[0] not in self._stopped_listeners]
        return stopped

    async def startup(self, view: RocketsView) -> None:
        """Run every ``startup``, each within the hook time limit; the first failure stops the
        start.

        Raises:
            PluginError: naming the plugin that failed, or that did not return in time.
        """
        for plugin, caller in self._callers["startup"]:
            try:
                await self._run(plugin, "startup", caller, view)
            except _OverdueError as exc:
                raise PluginError(str(exc)) from None
            except Exception as exc:
                raise _failed(plugin, "startup", exc) from exc

    async def shutdown(self, view: RocketsView) -> None:
        """Run every ``shutdown``, each within the hook time limit; a failure (or a hook that
        does not return in time) is logged and the others still run."""
        for plugin, caller in self._callers["shutdown"]:
            try:
                await self._run(plugin, "shutdown", caller, view)
            except _OverdueError as exc:
                log.error("%s; the other plugins' shutdown still runs", exc)
            except Exception as exc:
                log.exception("%s", _failed(plugin, "shutdown", exc))

    async def _run(
        self, plugin: str, hook: str, caller: pluggy.HookCaller, view: RocketsView
    ) -> None:
        """Call a lifecycle hook of one plugin and await what it returns, within the time limit.

        A coroutine that does not return in time is cancelled. A hook that blocks without
        awaiting cannot be interrupted (it holds the event loop): it is told once it returns.

        Raises:
            _OverdueError: the hook did not return within the limit.
        """
        loop = asyncio.get_running_loop()
        started = loop.time()
        limit = asyncio.timeout(self.hook_timeout)
        try:
            async with limit:
                for result in caller(view=view):
                    if inspect.isawaitable(result):
                        await result
        except TimeoutError:
            if not limit.expired():
                raise  # the hook's own TimeoutError, a failure like any other
        if limit.expired() or loop.time() - started > self.hook_timeout:
            raise _OverdueError(
                f"plugin {plugin!r}: {hook} did not return within {self.hook_timeout:g} s "
                "(ROCKETS_HOOK_TIMEOUT)"
            )
