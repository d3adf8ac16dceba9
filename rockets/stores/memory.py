"""The in-memory store: the embedded default. Fast, and gone when the process ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar

from rockets.records import Record
from rockets.settings import Limits, Settings
from rockets.stores.base import Commit
from rockets.stores.local import LocalStore
from rockets.stores.packed import PackedLog, TypeTable

__all__ = ["MemoryStore"]


class MemoryStore(LocalStore):
    """Keeps each channel's event log packed (:class:`rockets.stores.packed.PackedLog`, a few
    dozen bytes an event). Messages waiting behind a gap live only in the sequencer, since
    nothing here outlives the process anyway."""

    name: ClassVar[str] = "memory"

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__(limits or Settings().limits)
        self._logs: dict[str, PackedLog] = {}
        self._types = TypeTable()

    async def ping(self) -> None:
        return None

    async def _write(self, commit: Commit, positions: range) -> None:
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
                log = logs[record.channel] = PackedLog(record.channel, self._types)
            log.append(record)

    async def _load(self) -> AsyncIterator[tuple[int | None, Record]]:
        # A memory store starts empty: there is nothing to read back.
        return
        yield  # pragma: no cover - makes this an async generator

    async def _event(self, channel: str, number: int) -> Record | None:
        log = self._logs.get(channel)
        if log is None or not 1 <= number <= len(log):
            return None
        return log.get(number)

    async def _events(self, channel: str, start: int, stop: int) -> list[Record]:
        log = self._logs.get(channel)
        return [] if log is None else log.slice(start, stop)

    async def received(self) -> AsyncIterator[Record]:
        for channel, log in list(self._logs.items()):
            for record in log.slice(1, len(log)):
                yield record
            for record in self.sequencer.pending_records(channel):
                yield record
