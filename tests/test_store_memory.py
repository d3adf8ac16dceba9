from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rockets.errors import SettingsError
from rockets.records import Record
from rockets.state import RocketState
from rockets.stores import Commit, MemoryStore, open_store

pytestmark = pytest.mark.anyio
T = datetime(2026, 1, 1, tzinfo=UTC)


def rec(channel: str, number: int) -> Record:
    return Record(channel, number, "T", T, T, b"{}")


def commit(*applied: Record) -> Commit:
    return Commit(received=list(applied), applied=list(applied), states=[])


async def test_commit_then_read_in_order() -> None:
    store = MemoryStore()
    await store.commit(commit(rec("a", 1), rec("b", 1), rec("a", 2)))
    await store.commit(commit(rec("a", 3)))
    assert [r.message_number for r in await store.events("a", 1, 10)] == [1, 2, 3]
    assert [r.message_number for r in await store.events("a", 2, 1)] == [2]
    assert await store.events("a", 4, 10) == []
    assert await store.events("zzz", 1, 10) == []
    assert await store.event("a", 2) == rec("a", 2)
    assert await store.event("a", 4) is None
    assert await store.event("a", 0) is None
    assert [(r.channel, r.message_number) async for r in store.received()] == [
        ("a", 1),
        ("a", 2),
        ("a", 3),
        ("b", 1),
    ]


async def test_a_commit_with_a_hole_keeps_nothing() -> None:
    store = MemoryStore()
    await store.commit(commit(rec("a", 1)))
    with pytest.raises(ValueError, match="does not extend"):
        await store.commit(commit(rec("b", 1), rec("a", 3)))
    assert await store.events("b", 1, 10) == []
    assert len(await store.events("a", 1, 10)) == 1


async def test_pending_and_states_are_accepted() -> None:
    store = MemoryStore()
    pending = rec("a", 5)
    await store.commit(Commit(received=[pending], applied=[], states=[RocketState(channel="a")]))
    await store.ping()
    assert store.durable is False


def test_open_store_by_url() -> None:
    assert isinstance(open_store("memory://"), MemoryStore)
    with pytest.raises(SettingsError, match="unknown store scheme 'redis'"):
        open_store("redis://localhost")
