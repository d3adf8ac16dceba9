"""Plugin code on the ingest path that takes longer than its budget: told and counted.

``apply`` and the validators run on the ingest path (the validators on the event loop, ``apply``
in a channel's worker), where nothing can interrupt them: a call that hangs holds its worker
for good, in one process. What can be done is to time every call (two clock readings, about
a tenth of a microsecond) and say which plugin is slow: a call over
``ROCKETS_PLUGIN_CALL_BUDGET_MS`` is counted for ``/metrics``
(``rockets_plugin_slow_calls_total{plugin, call}``) and logged as a WARNING naming the plugin,
at most once per plugin every ``ROCKETS_LOG_SUMMARY_SECONDS``, whatever the number of messages.

The time is the wall clock's: what the ingest path waited. A garbage collection that ran during
the call is the process's, not the plugin's, and is taken off (the collector's own callbacks
keep the last few collections' times; nothing is added to a call that is within the budget).
"""

from __future__ import annotations

import gc
import logging
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from rockets.runtime.metrics import counter_family
from rockets.words import counted

__all__ = ["SlowCalls"]

log = logging.getLogger("rockets.plugins")

_KEPT = 16
_collections: list[tuple[float, float]] = [(0.0, 0.0)] * _KEPT
"""The last garbage collections of the process, a ring: ``(end, seconds)``, by
``time.perf_counter``. A list written in place, never resized: a collection may come while it
is read (a deque would refuse to be iterated then)."""
_collected = 0
_collecting = 0.0


def _timed_collection(phase: str, info: dict[str, Any]) -> None:
    global _collecting, _collected
    if phase == "start":
        _collecting = time.perf_counter()
    elif _collecting:
        end = time.perf_counter()
        _collections[_collected % _KEPT] = (end, end - _collecting)
        _collected += 1


def _collecting_within(seconds: float, now: float) -> float:
    """How long garbage collections took in the ``seconds`` before ``now`` (as far as the last
    few collections tell)."""
    since = now - seconds
    return sum(min(spent, end - since) for end, spent in _collections if end > since)


if _timed_collection not in gc.callbacks:
    gc.callbacks.append(_timed_collection)


class SlowCalls:
    """The slow calls of one app's plugins.

    Args:
        budget: how long one call of ``apply`` or a validator may take, in seconds.
        every: at least this many seconds between two warnings about one plugin.
    """

    def __init__(self, budget: float, every: float) -> None:
        self.budget = budget
        self.every = every
        self.counts: Counter[tuple[str, str]] = Counter()
        """Slow calls, by ``(plugin, call)``, for ``/metrics`` (never reset)."""
        self._told: dict[str, tuple[float, int]] = {}  # plugin → (when, its slow calls then)

    def took(self, plugin: str, call: str, seconds: float, message_type: str) -> None:
        """Count a call of ``plugin``'s ``call`` (``apply``, ``validate_message``) for a
        ``message_type`` that took ``seconds``, over the budget (the time garbage collections
        took meanwhile not counted); warn unless this plugin was warned about within the last
        ``every`` seconds."""
        seconds -= _collecting_within(seconds, time.perf_counter())
        if seconds <= self.budget:
            return
        self.counts[plugin, call] += 1
        now = time.monotonic()
        told = self._told.get(plugin)
        if told is not None and now - told[0] < self.every:
            return
        slow = sum(n for (who, _), n in self.counts.items() if who == plugin)
        since = slow - (told[1] if told is not None else 0)
        self._told[plugin] = (now, slow)
        log.warning(
            "plugin %r is slow: its %s of a %s took %.1f ms, over the budget of %g ms "
            "(ROCKETS_PLUGIN_CALL_BUDGET_MS); it runs on the ingest path, which waits for it "
            "(%s over the budget since the last warning)",
            plugin,
            call,
            message_type,
            seconds * 1000,
            self.budget * 1000,
            counted(since, "call"),
        )

    def collect(self) -> Iterator[Any]:
        """The counts as a Prometheus family (this object is a collector of its own)."""
        yield counter_family(
            "rockets_plugin_slow_calls",
            "Calls of plugins' apply and validate_message slower than "
            "ROCKETS_PLUGIN_CALL_BUDGET_MS, by plugin and call",
            ["plugin", "call"],
            self.counts,
        )

    def describe(self) -> list[Any]:
        return []
