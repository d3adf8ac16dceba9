"""A memory store whose writes wait for the test: to hold requests in the queues on purpose."""

from __future__ import annotations

import asyncio

from rockets.stores import Commit, MemoryStore


class GatedStore(MemoryStore):
    """A memory store whose writes wait until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def _write(self, commit: Commit) -> None:
        await self.gate.wait()
        await super()._write(commit)
