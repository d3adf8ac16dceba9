"""rockets' pytest plugin: fixtures to test a plugin, in process and against real servers.

pytest loads it by itself wherever rockets is installed (the ``pytest11`` entry point
``rockets``); ``-p no:rockets`` turns it off. Every fixture is named ``rockets_*``.

Say which plugins to test by overriding ``rockets_plugins`` (in a ``conftest.py`` or a test
module), or for one test with the marker ``@pytest.mark.rockets_plugins(plugin, ...)``:

- ``rockets_plugins``: the plugins under test, modules or objects (none by default);
- ``rockets_settings``: the settings of the apps and servers: the standard types and no other
  installed plugin, a memory store (:func:`rockets.testing.standard_settings`); override it to
  change a setting;
- ``rockets_app``: an app serving those plugins (``create_app(rockets_settings,
  plugins=rockets_plugins)``), not started;
- ``rockets_http``: Litestar's ``TestClient`` on that app, its lifespan running;
- ``rockets_client``: a :class:`rockets.client.RocketsClient` on ``rockets_http``, which decodes
  states with every plugin's fields (read them with :func:`rockets.fields`) and events' payloads
  into the plugins' Structs (``client.payload(event)``), retries off;
- ``rockets_async_client``: the same, async (:class:`rockets.client.AsyncRocketsClient` on
  Litestar's ``AsyncTestClient``), for an async test (``@pytest.mark.anyio``); a test uses one
  of the two clients, not both;
- ``rockets_sqlite_url``: the URL of a SQLite store in the test's temporary directory;
- ``rockets_postgres_url``: a fresh PostgreSQL database on the server
  ``ROCKETS_TEST_POSTGRES_URL`` names, dropped afterwards; without the variable the test fails,
  saying what to set;
- ``rockets_server``: starts real ``rockets serve`` processes (:class:`rockets.testing.Servers`):
  ``rockets_server()`` on the settings' store, ``rockets_server(url)`` on another, with
  ``plugins=`` other plugins (another version of yours); each loads the plugins too (modules by
  name, drop-in files copied), and is killed when the test ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from litestar.testing import TestClient

    from rockets.app import RocketsApp
    from rockets.client import AsyncRocketsClient, RocketsClient
    from rockets.settings import Settings
    from rockets.state import RocketState
    from rockets.testing.servers import Servers

__all__ = [
    "rockets_app",
    "rockets_async_client",
    "rockets_client",
    "rockets_http",
    "rockets_plugins",
    "rockets_postgres_url",
    "rockets_server",
    "rockets_settings",
    "rockets_sqlite_url",
]

MARKER = "rockets_plugins"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(*plugins): the plugins (modules or objects) the rockets_* fixtures load for "
        "this test, instead of what the rockets_plugins fixture returns",
    )


@pytest.fixture
def rockets_plugins(request: pytest.FixtureRequest) -> list[object]:
    """The plugins under test: those of the ``rockets_plugins`` marker, else none. Override
    this fixture to name yours."""
    marker = request.node.get_closest_marker(MARKER)
    return list(marker.args) if marker is not None else []


@pytest.fixture
def rockets_settings() -> Settings:
    """The standard types and no other installed plugin, a memory store."""
    from rockets.testing.settings import standard_settings

    return standard_settings()


@pytest.fixture
def rockets_app(rockets_settings: Settings, rockets_plugins: list[object]) -> RocketsApp:
    """An app serving the plugins under test (not started: ``rockets_http`` starts it)."""
    from rockets.app import create_app

    return create_app(rockets_settings, plugins=rockets_plugins)


@pytest.fixture
def rockets_http(rockets_app: RocketsApp) -> Iterator[TestClient[RocketsApp]]:
    """Litestar's test client on the app, its lifespan (start, plugins' ``startup``) running."""
    from litestar.testing import TestClient

    with TestClient(rockets_app) as http:
        yield http


def _decoding(app: RocketsApp) -> dict[str, Any]:
    """What a client of ``app`` decodes into: its state type, its payload Structs."""
    registry = app.service.registry
    return {
        "state_type": registry.state.state_type,
        "payload_types": [registered.event_type.schema for registered in registry.values()],
        "retry": None,
    }


@pytest.fixture
def rockets_client(
    rockets_app: RocketsApp, rockets_http: TestClient[RocketsApp]
) -> RocketsClient[RocketState]:
    """The SDK's client on the app, in process."""
    from rockets.client import RocketsClient

    return RocketsClient(http=rockets_http, **_decoding(rockets_app))


@pytest.fixture
async def rockets_async_client(
    rockets_app: RocketsApp,
) -> AsyncIterator[AsyncRocketsClient[RocketState]]:
    """The SDK's async client on the app, in process (an async test's fixture)."""
    from litestar.testing import AsyncTestClient

    from rockets.client import AsyncRocketsClient

    async with AsyncTestClient(rockets_app) as http:
        yield AsyncRocketsClient(http=http, **_decoding(rockets_app))


@pytest.fixture
def rockets_sqlite_url(tmp_path: Path) -> str:
    """A SQLite store in the test's temporary directory (created when first opened)."""
    return f"sqlite:///{tmp_path / 'rockets.db'}"


@pytest.fixture
def rockets_postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database on the server of ``ROCKETS_TEST_POSTGRES_URL``, dropped
    afterwards; the test fails, saying what to set, without the variable."""
    from rockets.testing.postgres import fresh_database, missing_postgres, postgres_admin_url

    admin = postgres_admin_url()
    if admin is None:
        pytest.fail(missing_postgres(), pytrace=False)
    with fresh_database(admin) as url:
        yield url


@pytest.fixture
def rockets_server(
    tmp_path: Path, rockets_settings: Settings, rockets_plugins: list[object]
) -> Iterator[Servers]:
    """Starts ``rockets serve`` processes loading the plugins under test: call it."""
    from rockets.testing.servers import Servers

    servers = Servers(tmp_path / "servers", rockets_settings, rockets_plugins)
    try:
        yield servers
    finally:
        servers.close()
