"""The docs' code is real: every example block is a file of the repository, and runs."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..conftest import ROOT, core_settings

DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
MARKED = re.compile(r"<!-- (example|excerpt): (?P<path>\S+) -->\n```\w*\n(?P<code>.*?)```", re.S)
PYTHON = re.compile(r"(?:<!-- (?:example|excerpt): \S+ -->\n)?```python\n")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_python_block_is_a_marked_example(doc: Path) -> None:
    text = doc.read_text()
    unmarked = [m.start() for m in PYTHON.finditer(text) if not m.group(0).startswith("<!--")]
    assert unmarked == [], f"{doc.name}: python blocks must show an example file"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_marked_blocks_match_their_files(doc: Path) -> None:
    for match in MARKED.finditer(doc.read_text()):
        source = (ROOT / match["path"]).read_text()
        if match[1] == "example":
            assert match["code"] == source, f"{doc.name} shows an outdated {match['path']}"
        else:
            assert match["code"] in source, f"{doc.name} quotes {match['path']} wrongly"


TESTING = ROOT / "docs" / "examples" / "testing"


def run_pytest(*files: Path, env: dict[str, str] | None = None) -> str:
    """pytest on the docs' test files, as their reader runs them (the kit's plugin loaded by its
    entry point, nothing of this project's conftest); what it printed, once every test passed."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *map(str, files)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_plugin_testing_examples_pass() -> None:
    printed = run_pytest(TESTING / "test_rocket_landed.py", TESTING / "test_upcaster.py")
    assert re.search(r"\b7 passed\b", printed), printed


def load_example(name: str) -> Any:
    path = ROOT / "docs" / "examples" / name
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sdk_usage_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from litestar.testing import AsyncTestClient, TestClient
    from rockets_client import PAYLOAD_TYPES, AsyncRocketsClient, RocketsClient

    from rockets.app import create_app

    example = load_example("sdk_usage.py")
    app = create_app(core_settings())
    with TestClient(app) as http:
        client = RocketsClient(http=http, payload_types=PAYLOAD_TYPES)
        assert example.post_and_read(client, "demo") == 1000

    async def run_async() -> str:
        async with AsyncTestClient(app) as http:
            status: str = await example.post_async(AsyncRocketsClient(http=http), "demo")
            return status

    assert asyncio.run(run_async()) == "exploded"
    out = capsys.readouterr().out
    assert "Falcon-9 at 1000 on ARTEMIS" in out
    assert "event 3: speed up by 300" in out
    assert "speeds: [500, 700, 1000, 1000]" in out
    assert "404: no rocket on channel 'no-such-rocket'" in out
    assert "409: message 2 of channel 'demo' was already received" in out
    assert re.search(r"fleet at position \d+: \d+ rockets", out)
    assert "projections: [('fleet', 'running')]" in out


def test_sdk_usage_example_needs_the_sdk_alone() -> None:
    """It imports the standard library, msgspec and rockets_client, nothing of the server (a
    system test runs it where nothing else is installed)."""
    import ast

    tree = ast.parse((ROOT / "docs" / "examples" / "sdk_usage.py").read_text())
    tops = {
        name.split(".")[0]
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    }
    assert tops - set(sys.stdlib_module_names) == {"msgspec", "rockets_client"}


def test_sdk_compose_example_reads_two_plugins_fields(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from litestar.testing import TestClient

    from rockets.app import create_app
    from rockets.client import RocketsClient
    from rockets.settings import Settings

    plugins = ROOT / "docs" / "examples" / "state_plugins"
    monkeypatch.syspath_prepend(str(plugins))  # the example imports the drop-in's classes
    example = load_example("sdk_compose.py")
    # The fuel package's module (as ROCKETS_PLUGINS names it) and the crew drop-in.
    app = create_app(Settings(plugins_dir=str(plugins), plugin_modules=("rockets_fuel.plugin",)))
    with TestClient(app) as http:
        client = RocketsClient(http=http, state_type=example.FuelAndCrew)
        assert example.fuel_and_crew(client, "crewed") == (300, 3)
        rocket = client.rocket("crewed")
    assert (rocket.fuel, rocket.crew, rocket.speed) == (300, 3, 100)
    assert "1 rocket(s) with 300 fuel and 3 aboard" in capsys.readouterr().out


def test_sdk_dropin_example_imports_the_plugin_by_its_path(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from litestar.testing import TestClient

    from rockets.app import create_app
    from rockets.client import RocketsClient
    from rockets.settings import Settings

    example = load_example("sdk_dropin.py")
    plugins = ROOT / "docs" / "examples" / "state_plugins"
    app = create_app(Settings(plugins_dir=str(plugins)))
    with TestClient(app) as http:
        client = RocketsClient(http=http, state_type=example.crew_plugin.CrewState)
        assert example.board(client, "crewed") == 3
        rocket = client.rocket("crewed")
    assert type(rocket).__name__ == "CrewState"
    assert (rocket.crew, rocket.speed, rocket.mission) == (3, 100, "ISS")
    assert "crewed: 3 aboard" in capsys.readouterr().out


def broken_tables(text: str) -> list[str]:
    """Where a Markdown table of ``text`` breaks: rows after a blank line (a table that goes on
    after one is a second table without a header, shown as text), or a row whose number of
    cells is not its header's."""
    problems = []
    lines = text.splitlines()
    fenced = False
    cells = 0
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            fenced = not fenced
        if fenced or not line.startswith("|"):
            continue
        count = len(re.findall(r"(?<!\\)\|", line.strip().strip("|"))) + 1
        previous = lines[number - 2] if number > 1 else ""
        if previous.startswith("|"):
            if count != cells:
                problems.append(f"line {number}: {count} cells, the header has {cells}")
        else:
            following = lines[number] if number < len(lines) else ""
            if not re.fullmatch(r"\|[\s:|-]+\|?", following):
                problems.append(f"line {number}: a table row without a header above it")
            cells = count
    return problems


def test_the_checker_sees_a_table_broken_by_a_blank_line() -> None:
    text = "| a | b |\n|---|---|\n| 1 | 2 |\n\n| 3 | 4 |\n"
    assert broken_tables(text) == ["line 5: a table row without a header above it"]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_table_is_whole(doc: Path) -> None:
    assert broken_tables(doc.read_text()) == []


def test_the_sort_row_of_the_api_lists_every_state_field() -> None:
    from rockets.core.state_schema import build_state_schema

    row = next(
        line for line in (ROOT / "docs" / "api.md").read_text().splitlines()
        if line.startswith("| `sort` |")
    )  # fmt: skip
    listed = set(re.findall(r"`(\w+)`", row.split("|")[3]))
    fields = set(build_state_schema(()).fields)  # every field a listing sorts on
    assert fields - listed == set()


def test_the_cli_guide_names_every_option_of_every_command() -> None:
    import argparse

    from rockets.cli import _parser

    guide = (ROOT / "docs" / "cli.md").read_text()
    commands = next(
        action for action in _parser()._actions if isinstance(action, argparse._SubParsersAction)
    )
    missing = [
        f"rockets {name} {option}"
        for name, command in commands.choices.items()
        for action in command._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help" and f"`{option}`" not in guide
    ]
    assert missing == []


def readme_posts() -> list[Any]:
    """The bodies the README's curl examples post, in order."""
    import msgspec

    text = (ROOT / "README.md").read_text()
    bodies = re.findall(r"curl -s -X POST .*? -d '(.*?)'", text, re.S)
    return [msgspec.json.decode(body) for body in bodies]


def test_the_missions_sample_is_what_the_readme_messages_make() -> None:
    from litestar.testing import TestClient

    from rockets.app import create_app

    guide = (ROOT / "docs" / "plugins.md").read_text()
    shown = re.search(r"curl -s localhost:8088/projections/missions\n# (\{.*\})\n", guide)
    assert shown is not None, "plugins.md no longer shows what the missions projection answers"
    posts = readme_posts()
    assert len(posts) == 2  # one message, then a batch
    app = create_app(core_settings(plugins_dir=str(ROOT / "docs" / "examples" / "projections")))
    with TestClient(app) as client:
        for body in posts:
            assert client.post("/messages", json=body).status_code == 202
        while True:  # the projection follows the log, in a thread of its own
            answer = client.get("/projections/missions")
            if int(answer.headers["x-position"]) >= 3:
                break
        assert answer.text == shown[1]
