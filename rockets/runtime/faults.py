"""What plugin code (and the service's own background work) did wrong, told once and kept.

Plugin code is a guest: whatever it does wrong stops only what depends on it. Every such
failure is reported here by the piece that contained it (the engine for an ``apply`` that
raised, the projection runner, the listeners, the lifecycle hooks, the supervisor of background
tasks), and from here it is:

- logged once, as an ERROR naming the plugin, what stopped and the event (with the traceback
  the first time; the same fault again is counted, not logged again);
- counted, for ``/metrics`` (``rockets_plugin_faults_total{plugin, stopped}``);
- listed while it lasts, for ``/health`` (``degraded`` names what stopped) and ``/plugins``.

A fault that ends (a channel whose set-aside message applies after all, a background task that
restarted) is cleared by the one that reported it.
"""

from __future__ import annotations

import logging
import traceback
from collections import Counter
from datetime import UTC, datetime

import msgspec

__all__ = ["Fault", "Faults"]

log = logging.getLogger("rockets.plugins")

KEPT = 1000
"""Faults listed at most (the oldest are dropped from the list, never from the counts): a plugin
that fails on every channel must not grow memory without bound."""


class Fault(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One thing that stopped because of a failure.

    Attributes:
        key: what stopped, as a short stable name (``projection 'fleet'``, ``listener of
            'audit'``, ``channel 'r1'``, ``the log follower``); one fault per key.
        plugin: the plugin whose code failed (None: the service's own background work).
        error: the exception, as ``Type: message``.
        event: the event it failed on, as ``channel#number`` or ``position N`` (None: none).
        since: when it was reported.
        ingest: whether ingest itself cannot go on while it lasts (``/health`` answers 503).
    """

    key: str
    plugin: str | None
    error: str
    event: str | None = None
    since: datetime
    ingest: bool = False


class Faults:
    """Every fault of one app."""

    def __init__(self) -> None:
        self._open: dict[str, Fault] = {}
        self.counts: Counter[tuple[str, str]] = Counter()
        """Faults reported, by ``(plugin, key)``, for ``/metrics`` (never reset)."""

    def report(
        self,
        key: str,
        exc: BaseException,
        *,
        plugin: str | None = None,
        event: str | None = None,
        ingest: bool = False,
    ) -> Fault:
        """Record that ``key`` stopped because of ``exc``: logged as an ERROR the first time
        (with its traceback), counted every time."""
        error = f"{type(exc).__name__}: {exc}"
        self.counts[plugin or "", key] += 1
        known = self._open.get(key)
        if known is not None and known.error == error and known.event == event:
            return known
        fault = Fault(
            key=key,
            plugin=plugin,
            error=error,
            event=event,
            since=datetime.now(UTC),
            ingest=ingest,
        )
        self._open.pop(key, None)
        self._open[key] = fault
        while len(self._open) > KEPT:
            del self._open[next(iter(self._open))]
        who = f"plugin {plugin!r}: " if plugin is not None else ""
        where = f" at {event}" if event is not None else ""
        log.error(
            "%s%s stopped%s: %s\n%s",
            who,
            key,
            where,
            error,
            "".join(traceback.format_exception(exc)).rstrip(),
        )
        return fault

    def clear(self, key: str) -> None:
        """``key`` runs again."""
        if self._open.pop(key, None) is not None:
            log.info("%s runs again", key)

    @property
    def open(self) -> list[Fault]:
        """What is stopped now, the oldest first."""
        return list(self._open.values())

    def of_plugin(self, plugin: str) -> list[Fault]:
        """What ``plugin``'s code stopped, the oldest first."""
        return [f for f in self._open.values() if f.plugin == plugin]
