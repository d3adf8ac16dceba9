"""The test kit for code built on rockets: plugins, and out-of-tree store backends.

- The pytest plugin (:mod:`rockets.testing.pytest_plugin`), which pytest loads by itself
  wherever rockets is installed: fixtures for an app serving your plugins, the SDK's clients
  bound to it in process, a SQLite store, a PostgreSQL database, and real server processes
  (docs/plugins.md, "Testing your plugin").
- :func:`standard_settings`: settings that load the standard types and no other installed
  plugin, for ``create_app(standard_settings(), plugins=[...])``.
- :class:`Servers`: ``rockets serve`` processes with given settings and plugins;
  :func:`environment_of` and :func:`served_plugins`, how settings and plugins reach one.
- ``rockets.testing.store_contract.StoreContract`` is the store contract suite: subclass it in a
  pytest module and provide a ``store_factory`` fixture to run every contract test against a
  store.

Names are loaded when first used, so that pytest, which loads the plugin in every run, loads
no part of the server until a fixture asks for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rockets.testing.postgres import fresh_database
    from rockets.testing.servers import Server, Servers, free_port
    from rockets.testing.settings import environment_of, served_plugins, standard_settings

__all__ = [
    "Server",
    "Servers",
    "environment_of",
    "free_port",
    "fresh_database",
    "served_plugins",
    "standard_settings",
]

_HOMES = {
    "fresh_database": "rockets.testing.postgres",
    "Server": "rockets.testing.servers",
    "Servers": "rockets.testing.servers",
    "free_port": "rockets.testing.servers",
    "environment_of": "rockets.testing.settings",
    "served_plugins": "rockets.testing.settings",
    "standard_settings": "rockets.testing.settings",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'rockets.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
