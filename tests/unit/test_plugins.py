"""A third-party message type arrives as a drop-in file, with no change to rockets/."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rockets.app import create_app
from rockets.errors import PluginError
from rockets.runtime.plugin_manager import build_plugin_manager
from rockets.settings import Settings

from ..conftest import EXAMPLE_PACKAGE, ROOT, core_settings

EXAMPLES = ROOT / "docs" / "examples" / "plugins"
STANDARD = [
    "RocketLaunched",
    "RocketSpeedIncreased",
    "RocketSpeedDecreased",
    "RocketMissionChanged",
    "RocketExploded",
]


@pytest.fixture
def client() -> Iterator[TestClient[Any]]:
    with TestClient(create_app(core_settings(plugins_dir=str(EXAMPLES)))) as test_client:
        yield test_client


def post(client: TestClient[Any], number: int, kind: str, payload: dict[str, Any]) -> int:
    body = {
        "metadata": {"channel": "lander", "messageNumber": number, "messageType": kind},
        "message": payload,
    }
    return client.post("/messages", json=body).status_code


def test_drop_in_type_is_accepted_and_applied(client: TestClient[Any]) -> None:
    assert post(client, 2, "RocketLanded", {"site": "LZ-1"}) == 202
    assert (
        post(client, 1, "RocketLaunched", {"type": "F9", "launchSpeed": 900, "mission": "M"}) == 202
    )
    rocket = client.get("/rockets/lander").json()
    assert (rocket["status"], rocket["speed"], rocket["lastMessageNumber"]) == ("landed", 0, 2)
    events = client.get("/rockets/lander/events").json()
    assert events[1]["message"] == {"site": "LZ-1"}
    assert client.get("/rockets/lander?at=1").json()["status"] == "flying"


def test_drop_in_payload_is_validated(client: TestClient[Any]) -> None:
    response = client.post(
        "/messages",
        json={"metadata": {"channel": "x", "messageType": "RocketLanded"}, "message": {"site": 5}},
    )
    assert response.status_code == 400
    assert response.json()["path"] == "$.message.site"


def test_drop_in_payload_appears_in_openapi(client: TestClient[Any]) -> None:
    schema = client.get("/schema/openapi.json").json()
    body = schema["paths"]["/messages"]["post"]["requestBody"]["content"]["application/json"]
    single, batch = body["schema"]["oneOf"]
    by_type = {
        env["properties"]["metadata"]["properties"]["messageType"]["enum"][0]: env
        for env in single["oneOf"]
    }
    assert set(by_type) == {*STANDARD, "RocketLanded"}
    landed = by_type["RocketLanded"]["properties"]["message"]
    assert landed["properties"]["site"] == {"type": "string"}
    assert landed["required"] == ["site"]
    assert len(batch["items"]["oneOf"]) == 6


def test_without_the_directory_the_type_is_unknown() -> None:
    with TestClient(create_app(core_settings())) as client:
        assert post(client, 1, "RocketLanded", {"site": "LZ-1"}) == 400


def test_core_names_no_standard_message_type() -> None:
    pattern = re.compile("|".join(STANDARD))
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "rockets").rglob("*"))
        if path.is_file()
        and path.suffix in {".py", ".html", ".js", ".json", ".toml", ".txt"}
        and pattern.search(path.read_text())
    ]
    assert offenders == []


def blocking_warnings(blocked: tuple[str, ...]) -> list[str]:
    """The warnings about blocked names of a start with these ``blocked`` plugins, the example
    drop-ins, and a standard type named in ``ROCKETS_PLUGINS`` instead of its entry point."""
    settings = Settings(
        blocked_plugins=("rocket_exploded", *blocked),
        plugins_dir=str(EXAMPLES),
        plugin_modules=("rockets_standard.exploded",),
    )
    warnings = build_plugin_manager(settings).warnings
    return [text for text in warnings if "ROCKETS_BLOCKED_PLUGINS" in text]


@pytest.mark.usefixtures("example_installed")
def test_a_blocked_name_that_matches_no_plugin_is_a_warning() -> None:
    (line,) = blocking_warnings(("fuel", "feul"))
    assert "'feul'" in line
    assert "'fuel'" not in line


@pytest.mark.usefixtures("example_installed")
def test_blocked_names_of_every_kind_of_plugin_are_no_warning() -> None:
    # An entry point, a drop-in file, a module named in ROCKETS_PLUGINS.
    named = (EXAMPLE_PACKAGE, "rocket_landed", "rockets_standard.exploded")
    assert blocking_warnings(named) == []


def test_loading_warnings_are_logged_when_the_service_starts_not_before(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # litestar run builds the app before its logging is set: a line logged then would come out
    # in another format, or twice.
    def told() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "'feul'" in r.getMessage()]

    with caplog.at_level(logging.WARNING):
        app = create_app(Settings(blocked_plugins=("feul",)))
        assert told() == []
        with TestClient(app):
            (record,) = told()
    assert (record.name, record.levelno) == ("rockets", logging.WARNING)


def test_the_loading_lines_plugin_hooks_md_shows_are_what_a_start_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (ROOT / "docs" / "plugin_hooks.md").read_text()
    (line,) = blocking_warnings(("feul",))
    assert f"WARNING:  {line}\n" in text
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plugins").mkdir()
    typo = "from rockets import hookimpl\n\n@hookimpl\ndef register_event_type():\n    return []\n"
    (tmp_path / "plugins" / "landing.py").write_text(typo)
    with pytest.raises(PluginError) as raised:
        build_plugin_manager(Settings(plugins_dir="plugins"))
    assert f"rockets: cannot start: {raised.value}\n" in text
