"""The docs' code is real: every example block is a file of the repository, and runs."""

from __future__ import annotations

import asyncio
import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

from ..conftest import ROOT

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


def test_plugin_test_example_passes() -> None:
    path = ROOT / "docs" / "examples" / "plugin_test_example.py"
    spec = importlib.util.spec_from_file_location("plugin_test_example", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.test_a_flying_rocket_lands()


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

    from rockets.app import create_app
    from rockets.client import AsyncRocketsClient, RocketsClient
    from rockets.settings import Settings

    example = load_example("sdk_usage.py")
    app = create_app(Settings(plugins_dir=str(ROOT / "docs" / "examples" / "plugins")))
    with TestClient(app) as http:
        assert example.post_and_read(RocketsClient(http=http), "demo") == 1000

    async def run_async() -> str:
        async with AsyncTestClient(app) as http:
            status: str = await example.post_async(AsyncRocketsClient(http=http), "demo")
            return status

    assert asyncio.run(run_async()) == "exploded"
    out = capsys.readouterr().out
    assert "demo: Falcon-9 at 1000 on ARTEMIS" in out
    assert "404: no rocket on channel 'no-such-rocket'" in out
    assert "409: message 2 of channel 'demo' was already received" in out


def test_the_sort_row_of_the_api_lists_every_state_field() -> None:
    import msgspec

    from rockets.state import RocketState

    row = next(
        line for line in (ROOT / "docs" / "api.md").read_text().splitlines()
        if line.startswith("| `sort` |")
    )  # fmt: skip
    listed = set(re.findall(r"`(\w+)`", row.split("|")[3]))
    fields = {field.encode_name for field in msgspec.structs.fields(RocketState)}
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
