"""The distribution: its name is ours alone (``rockets`` on PyPI is another project), and
everything that reads it reads that name."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

import rockets
from rockets.app import create_app
from rockets.distribution import DISTRIBUTION
from rockets.settings import Settings

from ..conftest import EXAMPLE_PACKAGE, ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXAMPLE = tomllib.loads((ROOT / "plugins" / "rockets-fuel" / "pyproject.toml").read_text())


def test_the_distribution_is_not_the_unrelated_rockets() -> None:
    assert PROJECT["name"] == DISTRIBUTION != "rockets"
    assert distribution(DISTRIBUTION).version == PROJECT["version"] == rockets.__version__


@pytest.mark.usefixtures("example_installed")
def test_standard_plugins_are_builtin_and_the_example_package_is_not() -> None:
    with TestClient(create_app(Settings())) as client:
        plugins: list[dict[str, Any]] = client.get("/plugins").json()["plugins"]
    sources = {p["name"]: (p["source"], p["distribution"]) for p in plugins}
    assert sources.pop(EXAMPLE_PACKAGE) == ("entrypoint", EXAMPLE["project"]["name"])
    assert set(sources.values()) == {("builtin", DISTRIBUTION)}
    assert len(sources) == len(PROJECT["entry-points"]["rockets"])


def test_a_plugin_package_depends_on_this_distribution() -> None:
    assert EXAMPLE["project"]["dependencies"] == [DISTRIBUTION]
    # The entry-point group keeps the import name.
    assert set(EXAMPLE["project"]["entry-points"]) == {"rockets"}


def test_no_doc_installs_or_depends_on_the_unrelated_project() -> None:
    wrong = re.compile(r"""pip install ['"]?rockets(?![\w-])|dependencies = \["rockets"\]""")
    texts = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "deploy").glob("*")]
    offenders = [str(p.relative_to(ROOT)) for p in texts if wrong.search(p.read_text())]
    assert offenders == []


@pytest.mark.parametrize("folder", [ROOT, ROOT / "sdk", ROOT / "plugins" / "rockets-fuel"])
def test_every_distribution_ships_the_license_it_declares(folder: Path) -> None:
    declared = tomllib.loads((folder / "pyproject.toml").read_text())["project"]["license"]
    assert declared == "MIT"
    # setuptools puts LICENSE in the wheel and the sdist by itself (the default license-files).
    assert (folder / "LICENSE").read_text().startswith("MIT License\n")
