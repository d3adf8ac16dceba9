from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from litestar.testing import TestClient

from rockets.app import create_app
from rockets.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_PACKAGE = "fuel"
"""The example third-party plugin (plugins/rockets-fuel), installed in the test environment."""


def message(channel: str, number: int, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A message envelope as a sender posts it (JSON-ready)."""
    return {
        "metadata": {"channel": channel, "messageNumber": number, "messageType": kind},
        "message": payload,
    }


Handler = TypeVar("Handler", bound=logging.Handler)


@contextmanager
def attached(handler: Handler, logger: str = "rockets") -> Iterator[Handler]:
    """``handler`` hears the ``logger``'s INFO lines and above while the block runs."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    try:
        yield handler
    finally:
        log.removeHandler(handler)
        log.setLevel(level)


def core_settings(**values: Any) -> Settings:
    """Settings for an app with the standard plugins only, whatever else is installed."""
    return Settings(blocked_plugins=(EXAMPLE_PACKAGE,), **values)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/system is a system test (see the ``system`` marker)."""
    system = ROOT / "tests" / "system"
    for item in items:
        if item.path.is_relative_to(system):
            item.add_marker(pytest.mark.system)


@pytest.fixture
def settings() -> Settings:
    return core_settings()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """A fresh app (own plugin manager, registry and store) with its lifespan running: the very
    object ``litestar run`` and ``rockets serve`` serve."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A PostgreSQL server for the session (see tests/pg.py)."""
    from .pg import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty database for one test."""
    from .pg import fresh_database

    with fresh_database(postgres_admin_url) as url:
        yield url
