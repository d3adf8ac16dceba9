"""A memory store whose writes wait for the test: to hold requests in the queues on purpose.

Everything here is waited on as events and states, never on time: the tests ask how many writes
wait at the gate (:meth:`GatedStore.holding`) or how many requests are answered
(:class:`Answered`) instead of sleeping and hoping the event loop has got that far.
"""

from __future__ import annotations

import asyncio

from rockets.stores import Commit, MemoryStore

HANG_GUARD = 60.0
"""Seconds after which a wait that should end at once fails instead of hanging the run. Only a
guard: no verdict depends on it (each wait is for an event that comes in a few loop turns)."""

LOOP_TURNS = 100
"""Turns of the event loop after which whatever could still run without the test's say has run
(a shutdown that did not wait would finish in a handful). A count of turns, not a time, so no
slowness changes what the test sees."""


async def let_the_loop_run(turns: int = LOOP_TURNS) -> None:
    """Yield to the event loop ``turns`` times: every task that can run, runs."""
    for _ in range(turns):
        await asyncio.sleep(0)  # a turn of the loop, not a pause


class GatedStore(MemoryStore):
    """A memory store whose writes wait until the test opens the gate.

    Attributes:
        gate: set by the test to let writes through.
        entered: set when a write reaches the gate (the first, and every one after).
        held: the commits waiting at the gate now, in arrival order.
    """

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()
        self.held: list[Commit] = []
        self._arrived = asyncio.Event()

    @property
    def held_messages(self) -> int:
        """How many messages the writes waiting at the gate carry."""
        return sum(len(commit.received) for commit in self.held)

    async def holding(self, writes: int) -> None:
        """Return once ``writes`` writes wait at the gate together."""
        async with asyncio.timeout(HANG_GUARD):
            while len(self.held) < writes:
                arrived = self._arrived
                await arrived.wait()

    async def _write(self, commit: Commit, positions: range) -> None:
        self.held.append(commit)
        self.entered.set()
        arrived, self._arrived = self._arrived, asyncio.Event()
        arrived.set()
        try:
            await self.gate.wait()
        finally:
            self.held.remove(commit)
        await super()._write(commit, positions)


class Answered:
    """Counts the tasks (requests) that are done, and wakes whoever waits for a number of them.

    Attach with ``task.add_done_callback(answered)``.
    """

    def __init__(self) -> None:
        self.count = 0
        self._changed = asyncio.Event()

    def __call__(self, _: object) -> None:
        self.count += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def reach(self, count: int) -> None:
        """Return once at least ``count`` tasks are done."""
        async with asyncio.timeout(HANG_GUARD):
            while self.count < count:
                changed = self._changed
                await changed.wait()
