"""Settings from the environment: every variable is named ROCKETS_*, and a former name still
works."""

from __future__ import annotations

import re

import pytest
from litestar.testing import TestClient

from rockets.app import create_app
from rockets.errors import SettingsError
from rockets.settings import ENVIRONMENT, Settings

from ..conftest import EXAMPLE_PACKAGE, ROOT


def workers_served(environ: dict[str, str]) -> int:
    """How many workers an app built from ``environ`` reports in ``GET /health``."""
    settings = Settings.from_env({**environ, "ROCKETS_BLOCKED_PLUGINS": EXAMPLE_PACKAGE})
    with TestClient(create_app(settings)) as client:
        workers: int = client.get("/health").json()["workers"]
    return workers


def test_every_variable_has_the_prefix() -> None:
    assert [var for var in ENVIRONMENT if not var.startswith("ROCKETS_")] == []


def test_the_worker_count_is_read_under_its_name_and_its_former_name() -> None:
    assert workers_served({"ROCKETS_WORKER_COUNT": "5"}) == 5
    assert workers_served({"WORKER_COUNT": "4"}) == 4
    assert workers_served({"WORKER_COUNT": "2", "ROCKETS_WORKER_COUNT": "2"}) == 2
    assert workers_served({}) == Settings().worker_count


def test_both_names_with_different_values_stop_the_start() -> None:
    with pytest.raises(SettingsError, match="WORKER_COUNT='4' and ROCKETS_WORKER_COUNT='8'"):
        Settings.from_env({"WORKER_COUNT": "4", "ROCKETS_WORKER_COUNT": "8"})


@pytest.mark.parametrize("var", ["WORKER_COUNT", "ROCKETS_WORKER_COUNT"])
def test_an_invalid_value_names_the_variable_it_came_in(var: str) -> None:
    with pytest.raises(SettingsError, match=f"invalid setting {var}=.many.: Expected an integer"):
        Settings.from_env({var: "many"})


def test_the_readme_documents_every_variable_by_its_name() -> None:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", section, re.M)) - {"LITESTAR_PORT"}
    assert documented == set(ENVIRONMENT)
