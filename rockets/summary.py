"""The INFO summary of what was ingested: one line every ``ROCKETS_LOG_SUMMARY_SECONDS``
(none for a window without messages), and one for the last window when the service stops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable

__all__ = ["IngestSummary"]

log = logging.getLogger("rockets")


class IngestSummary:
    """Counts each message's outcome and sums them up in the log.

    Args:
        every: seconds between two summaries.
        queued: how many requests wait for the workers, for the line's last figure.
    """

    def __init__(self, every: float, queued: Callable[[], int]) -> None:
        self.every = every
        self._queued = queued
        self._tally: Counter[str] = Counter()
        self._since = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    def count(self, outcomes: Iterable[str]) -> None:
        self._tally.update(outcomes)

    def flush(self) -> None:
        """Log what was counted since the last line, if anything, and start a new window."""
        tally, self._tally = self._tally, Counter()
        now = time.monotonic()
        seconds, self._since = max(now - self._since, 1e-9), now
        total = sum(tally.values())
        if total:
            detail = ", ".join(f"{n} {outcome}" for outcome, n in sorted(tally.items()))
            log.info(
                "ingested %d messages in the last %.3gs (%.0f/s): %s; %d requests queued",
                total,
                seconds,
                total / seconds,
                detail,
                self._queued(),
            )

    def start(self) -> None:
        """Log a summary every ``every`` seconds from now on (inside a running event loop)."""
        self._since = time.monotonic()
        self._task = asyncio.create_task(self._run(), name="rockets-log-summary")

    async def stop(self) -> None:
        """Stop the periodic lines and log the last window's."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            self.flush()
