"""The distribution as someone outside this repository gets it: built with ``python -m build``
(sdist, then the wheel from the sdist), then the wheel installed and serving."""

from __future__ import annotations

import configparser
import email.parser
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import httpx
import pytest

from rockets.distribution import DISTRIBUTION

from ..conftest import EXAMPLE_PACKAGE, ROOT
from ..server import free_port, running

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
STATIC = ["index.html", "app.js", "style.css"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """The sdist, the wheel and everything the build printed, built from a copy of the work
    tree's files (tracked or new, not ignored) so that the build writes nothing here."""
    tmp = tmp_path_factory.mktemp("build")
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, check=True, text=True, timeout=60,
    ).stdout.split("\0")  # fmt: skip
    source = tmp / "source"
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = tmp / "dist"
    # --no-isolation: the backend comes from the test environment (the test extra), not the
    # network.
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    printed = result.stdout + result.stderr
    assert result.returncode == 0, printed
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return sdist, wheel, printed


def test_the_build_warns_of_nothing_left_out(built: tuple[Path, Path, str]) -> None:
    _, _, printed = built
    assert "would be ignored" not in printed
    assert "absent from the `packages` configuration" not in printed


def test_the_wheel_holds_the_server_the_standard_types_and_the_dashboard(
    built: tuple[Path, Path, str],
) -> None:
    _, wheel, _ = built
    assert wheel.name == f"{DISTRIBUTION.replace('-', '_')}-{PROJECT['version']}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = f"{DISTRIBUTION.replace('-', '_')}-{PROJECT['version']}.dist-info"
        metadata = email.parser.Parser().parsestr(archive.read(f"{info}/METADATA").decode())
        entry_points = configparser.ConfigParser()
        entry_points.read_string(archive.read(f"{info}/entry_points.txt").decode())
    assert {f"rockets/http/dashboard/static/{name}" for name in STATIC} <= names
    assert {"rockets/py.typed", "rockets/client/__init__.py", "rockets_standard/py.typed"} <= names
    assert not [name for name in names if name.startswith(("rockets_fuel", "tests/"))]
    assert metadata["Name"] == DISTRIBUTION
    assert "postgres" in metadata.get_all("Provides-Extra")
    assert any(
        r.startswith("psycopg[binary]") and 'extra == "postgres"' in r
        for r in metadata.get_all("Requires-Dist")
    )
    assert dict(entry_points["rockets"]) == PROJECT["entry-points"]["rockets"]
    assert dict(entry_points["pytest11"]) == {"rockets": "rockets.testing.pytest_plugin"}
    assert entry_points["console_scripts"]["rockets"] == "rockets.cli:main"


def test_the_sdist_holds_the_dashboard(built: tuple[Path, Path, str]) -> None:
    sdist, _, _ = built
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {f"rockets/http/dashboard/static/{name}" for name in STATIC} <= names


def test_the_installed_wheel_serves(built: tuple[Path, Path, str], tmp_path: Path) -> None:
    """Installed on its own (its dependencies are the test environment's), the wheel's
    ``rockets`` command serves the API, the dashboard and the standard types, builtin."""
    _, wheel, _ = built
    target = tmp_path / "installed"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--target", str(target), str(wheel)],
        check=True, timeout=120,
    )  # fmt: skip
    env = {
        "PYTHONPATH": str(target),
        "ROCKETS_BLOCKED_PLUGINS": EXAMPLE_PACKAGE,  # installed in the test environment
    }
    port = free_port()
    command = [str(target / "bin" / "rockets"), "serve", "--port", str(port)]
    # cwd: away from the work tree, whose egg-info would describe the project too.
    with running(command, port, env=env, cwd=tmp_path) as server:
        page = httpx.get(f"{server.url}/", timeout=5)
        style = httpx.get(f"{server.url}/dashboard/style.css", timeout=5)
        plugins = httpx.get(f"{server.url}/plugins", timeout=5).json()["plugins"]
        health = httpx.get(f"{server.url}/health", timeout=5).json()
    assert page.status_code == 200
    assert "<html" in page.text.lower()
    assert style.status_code == 200
    assert {(p["source"], p["distribution"], p["version"]) for p in plugins} == {
        ("builtin", DISTRIBUTION, PROJECT["version"])
    }
    assert len(health["messageTypes"]) == 5
    assert all(str(target) in p["file"] for p in plugins)


def test_a_plugin_package_builds_without_network_from_a_copy(tmp_path: Path) -> None:
    """What docs/plugins.md says of installing a plugin package without network: setuptools
    writes into the folder it builds, so a copy is built, with the environment's setuptools
    and nothing fetched; the package's own folder stays as it was."""
    package = tmp_path / "rockets-fuel"
    ignored = shutil.ignore_patterns("*.egg-info", "build", "__pycache__")
    shutil.copytree(ROOT / "plugins" / "rockets-fuel", package, ignore=ignored)
    before = sorted(path.relative_to(package) for path in package.rglob("*"))
    copy = tmp_path / "copy"
    shutil.copytree(package, copy / package.name)
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-index", "--no-build-isolation",
         "--no-deps", "-w", str(dist), str(copy / package.name)],
        check=True, timeout=300,
    )  # fmt: skip
    assert sorted(path.relative_to(package) for path in package.rglob("*")) == before
    assert (copy / package.name / "build").is_dir()  # what the copy is for
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        info = next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
        entry_points = configparser.ConfigParser()
        entry_points.read_string(archive.read(info).decode())
    assert dict(entry_points["rockets"]) == {EXAMPLE_PACKAGE: "rockets_fuel.plugin"}
