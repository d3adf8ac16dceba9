"""Settings from the environment: every variable is named ROCKETS_*, a former name still works,
and a variable that is no setting is a warning."""

from __future__ import annotations

import logging
import re

import pytest
from litestar.testing import TestClient

from rockets.app import create_app
from rockets.errors import SettingsError
from rockets.settings import ENVIRONMENT, Settings, unknown_variables

from ..conftest import ROOT


def workers_served(environ: dict[str, str]) -> int:
    """How many workers an app built from ``environ`` reports in ``GET /health``."""
    settings = Settings.from_env(environ)
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


def test_an_unknown_variable_names_the_setting_it_likely_meant() -> None:
    said = unknown_variables(
        {
            "ROCKETS_WORKERCOUNT": "5",
            "ROCKETS_PLUGIN": "x",
            "ROCKETS_FROBNICATE": "1",
            "ROCKETS_STORE": "memory://",  # a setting
            "WORKER_COUNT": "2",  # a former name
            "ROCKETS_TEST_POSTGRES_URL": "postgresql://",  # the test kit's, no setting
            "PATH": "/bin",
        }
    )
    assert said == [
        "ROCKETS_FROBNICATE is not a setting of rockets and is ignored: the settings are in "
        "README.md",
        "ROCKETS_PLUGIN is not a setting of rockets and is ignored: did you mean ROCKETS_PLUGINS?",
        "ROCKETS_WORKERCOUNT is not a setting of rockets and is ignored: did you mean "
        "ROCKETS_WORKER_COUNT?",
    ]


def test_an_unknown_variable_is_a_warning_when_the_app_starts(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ROCKETS_WORKERCOUNT", "5")
    with caplog.at_level(logging.WARNING, logger="rockets"):
        app = create_app(Settings.from_env())
        assert "ROCKETS_WORKERCOUNT" not in caplog.text  # said when it starts, not when built
        with TestClient(app) as client:
            assert client.get("/health").json()["workers"] == Settings().worker_count
    (record,) = [r for r in caplog.records if "ROCKETS_WORKERCOUNT" in r.getMessage()]
    assert (record.name, record.levelno) == ("rockets", logging.WARNING)
    assert "did you mean ROCKETS_WORKER_COUNT?" in record.getMessage()


def test_the_variables_rockets_reads_besides_settings_are_no_warning() -> None:
    # Every ROCKETS_* name the project's code and tests read or set: a setting, or exempt.
    names = set()
    for folder in ("rockets", "tests", "benchmarks", "plugins", "sdk"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in {".py", ".lua"} and path.is_file():
                names.update(re.findall(r"\b(ROCKETS_[A-Z][A-Z0-9_]*[A-Z0-9])\b", path.read_text()))
    names -= {"ROCKETS_WORKERCOUNT", "ROCKETS_PLUGIN", "ROCKETS_FROBNICATE"}  # this module's
    assert unknown_variables(dict.fromkeys(names, "1")) == []
