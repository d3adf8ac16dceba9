from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
import rockets_fuel.plugin
from litestar.testing import TestClient

from rockets.app import create_app
from rockets.settings import Settings
from rockets.testing import standard_settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_PACKAGE = "fuel"
"""The entry point of the example third-party plugin (plugins/rockets-fuel). The package is not
installed in the project's environment (`litestar run` would serve it): its module is importable
for the tests (pytest's ``pythonpath``), and installed for those that ask for
:func:`example_installed`."""
EXAMPLE_PLUGIN = rockets_fuel.plugin
"""The example package's plugin module, for ``create_app(plugins=[EXAMPLE_PLUGIN])``."""


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
    return standard_settings(**values)


@pytest.fixture(scope="session")
def example_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where the example package is installed as pip installs it (its entry point
    included), built from a copy (setuptools writes into the folder it builds), without
    network."""
    tmp = tmp_path_factory.mktemp("example")
    ignored = shutil.ignore_patterns("*.egg-info", "build", "__pycache__", "tests")
    shutil.copytree(ROOT / "plugins" / "rockets-fuel", tmp / "rockets-fuel", ignore=ignored)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
         "--no-build-isolation", "--no-compile", "--target", str(tmp / "site"),
         str(tmp / "rockets-fuel")],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return tmp / "site"


@pytest.fixture
def example_installed(example_package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The example package installed for this test: apps built meanwhile load its entry point,
    as they load any installed plugin package's."""
    monkeypatch.syspath_prepend(str(example_package))


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
