"""The INFO summary of what was ingested and refused: one line every
``ROCKETS_LOG_SUMMARY_SECONDS`` (none for a window without a request), and one for the last
window when the service stops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence

from rockets.words import counted

__all__ = ["IngestSummary"]

log = logging.getLogger("rockets")


class IngestSummary:
    """Counts each message's outcome, and each request refused whole (by the error it got),
    and sums them up in the log.

    Args:
        every: seconds between two summaries.
        queued: how many requests wait for the workers, for the line's last figure.
    """

    def __init__(self, every: float, queued: Callable[[], int]) -> None:
        self.every = every
        self._queued = queued
        self._tally: Counter[str] = Counter()
        self._refused: Counter[str] = Counter()
        self._since = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    def count(self, outcomes: Sequence[str]) -> None:
        if len(outcomes) == 1:
            self._tally[outcomes[0]] += 1  # a request of one message, most requests
        else:
            self._tally.update(outcomes)

    def refused(self, error: str) -> None:
        """Count a request refused whole (none of its messages was taken), by its error kind:
        ``malformed_json``, ``too_large``, ``rejected`` (a plugin's refusal)…"""
        self._refused[error] += 1

    def flush(self) -> None:
        """Log what was counted since the last line, if anything, and start a new window:
        ``ingested 5 messages in the last 60s (0/s): 4 accepted, 1 duplicate; refused 2
        requests: 1 malformed_json, 1 too_large; 0 requests queued``."""
        tally, self._tally = self._tally, Counter()
        refused, self._refused = self._refused, Counter()
        now = time.monotonic()
        seconds, self._since = max(now - self._since, 1e-9), now
        total = sum(tally.values())
        turned_away = sum(refused.values())
        if not (total or turned_away):
            return
        line = f"ingested {counted(total, 'message')} in the last {seconds:.3g}s"
        line += f" ({total / seconds:.0f}/s)"
        if total:
            line += ": " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(tally.items()))
        if turned_away:
            kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(refused.items()))
            line += f"; refused {counted(turned_away, 'request')}: {kinds}"
        log.info("%s; %s queued", line, counted(self._queued(), "request"))

    def start(self) -> None:
        """Log a summary every ``every`` seconds from now on (inside a running event loop)."""
        self._task = asyncio.create_task(self.run(), name="rockets-log-summary")

    async def stop(self) -> None:
        """Stop the periodic lines and log the last window's."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.flush()

    async def run(self) -> None:
        """Log a summary every ``every`` seconds, until cancelled (what :meth:`start` runs; the
        service runs it under its supervisor instead)."""
        self._since = time.monotonic()
        while True:
            await asyncio.sleep(self.every)
            self.flush()
