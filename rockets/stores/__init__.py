"""Event stores, chosen by URL (``ROCKETS_STORE``)."""

from __future__ import annotations

from importlib.metadata import entry_points
from urllib.parse import urlsplit

from rockets.errors import SettingsError
from rockets.settings import Limits
from rockets.stores.base import Commit, Fold, Group, Store
from rockets.stores.memory import MemoryStore

__all__ = [
    "STORE_ENTRY_POINTS",
    "Commit",
    "Fold",
    "Group",
    "Limits",
    "MemoryStore",
    "Store",
    "open_store",
]

STORE_ENTRY_POINTS = "rockets.stores"
"""Entry-point group of out-of-tree stores: name = scheme, value = ``(url, limits) -> Store``."""


def open_store(url: str, limits: Limits) -> Store:
    """Build (not yet connect) the store named by ``url``.

    Built in: ``memory://``, ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``,
    ``postgresql://user:password@host:port/database``. Other schemes are looked up among the
    ``rockets.stores`` entry points.

    Raises:
        SettingsError: no store answers to the URL's scheme, or the URL is malformed.
    """
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryStore(limits)
    if scheme == "sqlite":
        from rockets.stores.sqlite import SQLiteStore

        return SQLiteStore.from_url(url, limits)
    if scheme in ("postgresql", "postgres"):
        from rockets.stores.postgres import PostgresStore

        return PostgresStore.from_url(url, limits)
    for entry_point in entry_points(group=STORE_ENTRY_POINTS, name=scheme):
        store: Store = entry_point.load()(url, limits)
        return store
    raise SettingsError(
        f"store URL {url!r}: unknown store scheme {scheme!r} "
        "(known: memory://, sqlite:///, postgresql://)"
    )
