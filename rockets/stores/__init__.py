"""Event stores, chosen by URL (``ROCKETS_STORE``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from rockets.errors import SettingsError
from rockets.stores.base import Commit, Store
from rockets.stores.memory import MemoryStore

__all__ = ["Commit", "MemoryStore", "Store", "open_store"]


def open_store(url: str) -> Store:
    """Build (not yet connect) the store named by ``url``.

    Raises:
        SettingsError: the URL's scheme names no store this version provides.
    """
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryStore()
    raise SettingsError(
        f"ROCKETS_STORE={url!r}: unknown store scheme {scheme!r} (known: memory://)"
    )
