"""The service's background work, kept running: a task that fails is told, and started again.

The log's follower (which feeds the stream and the projections), the projection runner and the
periodic log summary run as tasks for as long as the service does. A task that raises does not
die silently: the supervisor reports it through :class:`~rockets.runtime.faults.Faults` (one
ERROR with its traceback, and ``GET /health`` answers ``degraded`` naming it), waits, and starts
it again, waiting longer each time it fails again (0.1 s, doubled up to 5 s). The fault lasts
until the task says it made progress (:class:`Beat`): a task that fails at once every time is
told once, not once per attempt. Stopping cancels the task wherever it is, its waits included,
and never fails, whatever state the task is in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from rockets.runtime.faults import Faults

__all__ = ["FIRST_WAIT", "LONGEST_WAIT", "Beat", "Supervisor"]

FIRST_WAIT = 0.1
"""Seconds before a task that failed is started again, the first time."""
LONGEST_WAIT = 5.0
"""The longest wait between two starts of a task that keeps failing."""


class Beat:
    """What a supervised task calls when it has made progress: the fault it was restarted for,
    if any, is over, and its next failure waits the shortest time again."""

    def __init__(self, supervisor: Supervisor, key: str) -> None:
        self._supervisor = supervisor
        self.key = key
        self.down = False
        self.wait = supervisor.first_wait

    def __call__(self) -> None:
        if self.down:
            self.down = False
            self.wait = self._supervisor.first_wait
            self._supervisor.faults.clear(self.key)


Work = Callable[[Beat], Awaitable[None]]
"""A supervised task's body: runs until done (or forever), calling its beat on progress."""


class Supervisor:
    """Runs named background tasks and keeps them running.

    Args:
        faults: where a task's failure is told.
        first_wait: seconds before the first restart of a task that failed.
        longest_wait: the longest wait between two restarts.
    """

    def __init__(
        self, faults: Faults, *, first_wait: float = FIRST_WAIT, longest_wait: float = LONGEST_WAIT
    ) -> None:
        self.faults = faults
        self.first_wait = first_wait
        self.longest_wait = longest_wait
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, key: str, work: Work, *, restart: bool = True) -> None:
        """Run ``work`` as a task named ``key`` (as faults and ``/health`` name it: ``the log
        follower``); when it raises, tell it and, if ``restart``, run it again after a wait."""
        if key in self._tasks and not self._tasks[key].done():
            raise RuntimeError(f"{key} runs already")
        self._tasks[key] = asyncio.create_task(self._keep(key, work, restart), name=key)

    def running(self, key: str) -> bool:
        """Whether the task ``key`` is still supervised (running, or waiting to run again)."""
        task = self._tasks.get(key)
        return task is not None and not task.done()

    async def stop(self, *keys: str) -> None:
        """Cancel the tasks ``keys`` (every task when none is named) and wait for them to end.
        Never raises because of the tasks: whatever they raise as they end is dropped."""
        names = list(keys) if keys else list(self._tasks)
        tasks = [task for name in names if (task := self._tasks.pop(name, None)) is not None]
        for task in tasks:
            task.cancel()
        # return_exceptions: a task's own failure, or its cancellation, is not the caller's;
        # a cancellation of the caller still comes through.
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _keep(self, key: str, work: Work, restart: bool) -> None:
        beat = Beat(self, key)
        task = asyncio.current_task()
        while True:
            try:
                await work(beat)
            except Exception as exc:
                if task is not None and task.cancelling():
                    return  # being stopped: what it raised on its way out is not a failure
                beat.down = True
                self.faults.report(key, exc)
            else:
                return
            if not restart:
                return
            await asyncio.sleep(beat.wait)
            beat.wait = min(beat.wait * 2, self.longest_wait)
