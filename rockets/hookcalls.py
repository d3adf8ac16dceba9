"""Calling the plugins' runtime hooks one plugin at a time, so that each failure is isolated,
logged and attributed to its plugin."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable
from typing import Any

import pluggy

from rockets.aggregate import event_of
from rockets.records import Record
from rockets.registry import Registry
from rockets.state import Event, RocketState

__all__ = ["PluginHooks"]

log = logging.getLogger("rockets.plugins")


class PluginHooks:
    """The runtime hooks of one app's plugins.

    For every hook, one caller per implementing plugin is built once, so that a call of a hook
    reaches the plugins one by one (and ``ROCKETS_TRACE_HOOKS`` still traces each call).
    """

    def __init__(self, pm: pluggy.PluginManager, registry: Registry) -> None:
        self.pm = pm
        self.registry = registry
        self._listeners = self._callers("event_applied")
        self._validators = self._callers("validate_message")
        self.listener_failures = 0

    def _callers(self, hook: str) -> list[tuple[str, pluggy.HookCaller]]:
        implementations = getattr(self.pm.hook, hook).get_hookimpls()
        plugins = [impl.plugin for impl in reversed(implementations)]
        return [
            (
                self.pm.get_name(plugin) or "?",
                self.pm.subset_hook_caller(hook, [p for p in plugins if p is not plugin]),
            )
            for plugin in plugins
        ]

    @property
    def has_listeners(self) -> bool:
        return bool(self._listeners)

    @property
    def has_validators(self) -> bool:
        return bool(self._validators)

    def validate(self, event: Event[Any]) -> tuple[str, str] | None:
        """The first plugin that refuses ``event`` and its reason, or None.

        An exception propagates: a validator that fails is a bug, not a refusal.
        """
        for name, caller in self._validators:
            reasons = caller(event=event)
            for reason in reasons:
                if reason is not None:
                    return name, str(reason)
        return None

    def applied(self, events: Iterable[tuple[Record, RocketState]]) -> None:
        """Tell every listener about events just committed, each with the state it led to."""
        for record, state in events:
            event = event_of(self.registry, record)
            for name, caller in self._listeners:
                try:
                    caller(event=event, state=state)
                except Exception:
                    self.listener_failures += 1
                    log.exception(
                        "plugin %r failed in event_applied for %s#%d; the event stays applied",
                        name,
                        record.channel,
                        record.message_number,
                    )

    async def lifecycle(self, hook: str, service: object, *, stop_on_error: bool) -> None:
        """Run ``startup`` or ``shutdown`` in every plugin, awaiting coroutines."""
        for name, caller in self._callers(hook):
            try:
                for result in caller(service=service):
                    if inspect.isawaitable(result):
                        await result
            except Exception:
                if stop_on_error:
                    raise
                log.exception("plugin %r failed in %s", name, hook)
