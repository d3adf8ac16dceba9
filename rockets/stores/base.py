"""The store contract: where accepted messages and applied events are kept.

A store is told, one group commit at a time, which messages were received and which of them
joined their channel's event log. It answers reads of the log. The sequencing itself happens
before the store is called; a store never decides what is a duplicate.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from typing import ClassVar

import msgspec

from rockets.records import Record
from rockets.state import RocketState

__all__ = ["Commit", "Store"]


class Commit(msgspec.Struct, frozen=True, kw_only=True):
    """One group commit, written all or nothing.

    Attributes:
        received: every message accepted in this group that the store has not seen, applied or
            waiting behind a gap. A durable store keeps them all, so that a crash loses no
            acknowledged message.
        applied: the records that joined their channel's event log in this group, each
            channel's in number order. A record may have been ``received`` in an earlier commit
            (it waited behind a gap).
        states: the new projection row of every channel whose state changed.
    """

    received: list[Record]
    applied: list[Record]
    states: list[RocketState]


class Store(abc.ABC):
    """An async event store. Subclasses implement every abstract method.

    ``durable`` says whether a commit survives the process; ``name`` is shown by ``/health``.
    """

    durable: ClassVar[bool] = False
    name: ClassVar[str] = "abstract"

    async def open(self) -> None:  # noqa: B027 - optional hook with nothing to do by default
        """Connect, create or migrate the schema. Called once before any other method."""

    async def close(self) -> None:  # noqa: B027 - optional hook with nothing to do by default
        """Release connections. Called once, after the last commit."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Return if the store can serve requests; raise :class:`StoreError` otherwise."""

    @abc.abstractmethod
    async def commit(self, commit: Commit) -> None:
        """Keep ``commit`` entirely, or raise :class:`StoreError` having kept none of it."""

    @abc.abstractmethod
    async def event(self, channel: str, number: int) -> Record | None:
        """The applied event ``number`` of ``channel``, or None if it is not in the log."""

    @abc.abstractmethod
    async def events(self, channel: str, start: int, limit: int) -> list[Record]:
        """Up to ``limit`` applied events of ``channel`` from number ``start`` on, in order."""

    @abc.abstractmethod
    def received(self) -> AsyncIterator[Record]:
        """Every kept message, applied or waiting, each channel's in number order.

        Used once at start-up to rebuild the sequencer and the projection. A store that is not
        durable yields what it holds in this process (nothing, after a restart).
        """
