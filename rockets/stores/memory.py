"""The in-memory store: the embedded default. Fast, and gone when the process ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar

from rockets.records import Record
from rockets.stores.base import Commit, Store

__all__ = ["MemoryStore"]


class MemoryStore(Store):
    """Keeps each channel's event log as a list; messages waiting behind a gap live only in the
    sequencer, since nothing here outlives the process anyway."""

    durable: ClassVar[bool] = False
    name: ClassVar[str] = "memory"

    def __init__(self) -> None:
        self._logs: dict[str, list[Record]] = {}

    async def ping(self) -> None:
        return None

    async def commit(self, commit: Commit) -> None:
        logs = self._logs
        # Check the whole commit before touching a log, so that a bad one keeps nothing.
        lengths: dict[str, int] = {}
        for record in commit.applied:
            length = lengths.get(record.channel)
            if length is None:
                length = len(logs.get(record.channel, ()))
            if record.message_number != length + 1:
                raise ValueError(
                    f"event {record.channel}#{record.message_number} does not extend a log of "
                    f"{length} events"
                )
            lengths[record.channel] = length + 1
        for record in commit.applied:
            log = logs.get(record.channel)
            if log is None:
                log = logs[record.channel] = []
            log.append(record)

    async def event(self, channel: str, number: int) -> Record | None:
        log = self._logs.get(channel)
        if log is None or not 1 <= number <= len(log):
            return None
        return log[number - 1]

    async def events(self, channel: str, start: int, limit: int) -> list[Record]:
        log = self._logs.get(channel, [])
        first = max(start, 1) - 1
        return log[first : first + limit]

    async def received(self) -> AsyncIterator[Record]:
        for log in list(self._logs.values()):
            for record in log:
                yield record
