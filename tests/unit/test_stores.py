"""The store contract suite (rockets.testing.store_contract) against every built-in store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from rockets.errors import SettingsError, StoreError
from rockets.stores import MemoryStore, Store, open_store
from rockets.stores.postgres import PostgresStore
from rockets.stores.sqlite import SQLiteStore
from rockets.testing.store_contract import (
    CONTRACT_LIMITS,
    FOLD,
    REGISTRY,
    StoreContract,
    StoreFactory,
)


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return lambda: MemoryStore(CONTRACT_LIMITS)


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def store_factory(self, tmp_path: Path) -> StoreFactory:
        return lambda: open_store(f"sqlite:///{tmp_path}/rockets.db", CONTRACT_LIMITS)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("memory://", MemoryStore),
        ("sqlite:///rockets.db", SQLiteStore),
        ("sqlite:////var/lib/rockets/rockets.db?synchronous=full", SQLiteStore),
        ("postgresql://rockets@localhost/rockets", PostgresStore),
        ("postgres://rockets@localhost:5433/rockets?pool_max=20", PostgresStore),
    ],
)
def test_store_urls(url: str, kind: type[Store]) -> None:
    assert isinstance(open_store(url, CONTRACT_LIMITS), kind)


def test_sqlite_url_forms() -> None:
    relative = open_store("sqlite:///data/rockets.db", CONTRACT_LIMITS)
    absolute = open_store("sqlite:////var/lib/rockets.db?synchronous=full", CONTRACT_LIMITS)
    assert isinstance(relative, SQLiteStore)
    assert isinstance(absolute, SQLiteStore)
    assert (str(relative.path), relative.synchronous) == ("data/rockets.db", "normal")
    assert (str(absolute.path), absolute.synchronous) == ("/var/lib/rockets.db", "full")


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("redis://localhost", "unknown store scheme 'redis'"),
        ("sqlite://", "sqlite:///relative"),
        ("sqlite://host/x.db", "sqlite:///relative"),
        ("sqlite:///x.db?synchronous=sometimes", "use normal or full"),
        ("postgresql://h/db?pool_max=lots", "must be numbers"),
        ("postgresql://h/db?open_timeout=soon", "must be numbers"),
        ("postgresql://h/db?frobnicate=1", 'invalid URI query parameter: "frobnicate"'),
    ],
)
def test_bad_store_urls(url: str, complaint: str) -> None:
    with pytest.raises(SettingsError, match=complaint):
        open_store(url, CONTRACT_LIMITS)


def test_postgres_url_options_reach_libpq_whole() -> None:
    store = PostgresStore.from_url(
        "postgresql://h/db?pool_max=2&options=-c%20work_mem%3D5MB&application_name=a%20b",
        CONTRACT_LIMITS,
    )
    given = conninfo_to_dict(store.conninfo)
    assert (given["options"], given["application_name"]) == ("-c work_mem=5MB", "a b")


@pytest.mark.anyio
@pytest.mark.parametrize("link", ["same name", "hard link", "symlink"])
async def test_sqlite_serves_one_store_at_a_time_whatever_the_name(
    tmp_path: Path, link: str
) -> None:
    database = tmp_path / "db.sqlite"
    first = open_store(f"sqlite:///{database}", CONTRACT_LIMITS)
    await first.open(REGISTRY.state, FOLD)
    other = tmp_path / "elsewhere" / "other.sqlite"
    other.parent.mkdir()
    if link == "same name":
        other = database
    elif link == "hard link":
        other.hardlink_to(database)
    else:
        other.symlink_to(database)
    second = open_store(f"sqlite:///{other}", CONTRACT_LIMITS)
    try:
        with pytest.raises(StoreError, match=re.escape(f"{str(other)!r} is in use")):
            await second.open(REGISTRY.state, FOLD)
    finally:
        await first.close()
    await second.open(REGISTRY.state, FOLD)  # free again once the first is closed
    await second.close()


@pytest.mark.anyio
async def test_sqlite_needs_an_existing_directory(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/missing/db.sqlite", CONTRACT_LIMITS)
    with pytest.raises(StoreError, match="does not exist"):
        await store.open(REGISTRY.state, FOLD)


@pytest.mark.anyio
async def test_postgres_unreachable_is_a_store_error() -> None:
    from ..server import free_port

    store = PostgresStore.from_url(
        f"postgresql://nobody@127.0.0.1:{free_port()}/none?open_timeout=1", CONTRACT_LIMITS
    )
    with pytest.raises(StoreError, match="cannot open the store"):
        await store.open(REGISTRY.state, FOLD)
