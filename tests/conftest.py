from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rockets.app import create_app
from rockets.fastpath import fast_ingest
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


def core_settings(**values: Any) -> Settings:
    """Settings for an app with the standard plugins only, whatever else is installed."""
    return Settings(blocked_plugins=(EXAMPLE_PACKAGE,), **values)


@pytest.fixture
def settings() -> Settings:
    return core_settings()


SERVED_AS = ["litestar", "fastpath"]


def served(settings: Settings, way: str) -> TestClient:  # type: ignore[type-arg]
    """A test client of a fresh app (own plugin manager, registry and store), served ``way``:
    as Litestar's app (``litestar run``), or as ``rockets serve`` serves it, behind the ingest
    fast path. Enter it to run the app's lifespan."""
    app = create_app(settings)
    return TestClient(app if way == "litestar" else fast_ingest(app, app.state.rockets))


@pytest.fixture(params=SERVED_AS)
def client(settings: Settings, request: pytest.FixtureRequest) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """A fresh app with its lifespan running, served each way (see :func:`served`)."""
    with served(settings, request.param) as test_client:
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
