"""rockets rebuild's fold (rockets/runtime/maintenance.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest

from rockets.records import Record
from rockets.runtime.engine import Engine
from rockets.runtime.maintenance import rebuild_states
from rockets.stores import MemoryStore
from rockets.stores.base import Group
from rockets.testing.store_contract import CONTRACT_LIMITS, FOLD, REGISTRY, launch, speed_up


class Watched(MemoryStore):
    """A memory store that notes every read of events made while it holds a channel."""

    def __init__(self) -> None:
        super().__init__(CONTRACT_LIMITS)
        self.holding = False
        self.reads_while_held: list[tuple[str, int, int]] = []

    @asynccontextmanager
    async def _held(self, channels: Sequence[str]) -> AsyncIterator[Group]:
        async with super().group(channels) as group:
            self.holding = True
            try:
                yield group
            finally:
                self.holding = False

    def group(self, channels: Sequence[str]) -> AbstractAsyncContextManager[Group]:  # type: ignore[override]
        return self._held(channels)

    async def events(self, channel: str, start: int, limit: int) -> list[Record]:
        if self.holding:
            self.reads_while_held.append((channel, start, limit))
        return await super().events(channel, start, limit)


@pytest.mark.anyio
async def test_a_rocket_is_folded_before_its_channel_is_held() -> None:
    """A long log must not keep its channel held while it is folded: PostgreSQL ends a session
    idle in its transaction (ROCKETS_STORE_IDLE_TIMEOUT), which failed the rebuild of a rocket
    with 200,000 events."""
    store = Watched()
    await store.open(REGISTRY.state, FOLD)
    engine = Engine(REGISTRY, store)
    for channel in ("a", "b"):
        await engine.process([[launch(channel), *(speed_up(channel, n) for n in range(2, 40))]])
    report = await rebuild_states(store, REGISTRY)
    assert (report.rockets, report.changed) == (2, 0)
    assert store.reads_while_held == []
    await store.close()
