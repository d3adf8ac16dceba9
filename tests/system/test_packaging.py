"""The distributions as someone outside this repository gets them: built with ``python -m build``
(sdist, then the wheel from the sdist), then the server's wheel installed and serving, and the
SDK's wheel installed alone in a new virtual environment, used and type-checked there."""

from __future__ import annotations

import base64
import configparser
import email.parser
import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement

from rockets.distribution import DISTRIBUTION

from ..conftest import EXAMPLE_PACKAGE, ROOT
from ..server import BIN, free_port, running

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
SDK = ROOT / "sdk"
SDK_PROJECT = tomllib.loads((SDK / "pyproject.toml").read_text())["project"]
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
    assert not [name for name in names if name.startswith(("rockets_fuel", "tests/", "rockets_c"))]
    assert metadata["Name"] == DISTRIBUTION
    assert any(r.startswith("rockets-client") for r in metadata.get_all("Requires-Dist"))
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


# --- the SDK, a distribution of its own ---------------------------------------------------------


@pytest.fixture(scope="module")
def sdk_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SDK's wheel, built (sdist, then the wheel from it) from a copy of ``sdk/``."""
    tmp = tmp_path_factory.mktemp("sdk")
    ignored = shutil.ignore_patterns("*.egg-info", "build", "dist", "__pycache__")
    shutil.copytree(SDK, tmp / "sdk", ignore=ignored)
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(tmp / "dist"),
         str(tmp / "sdk")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (tmp / "dist").glob("*.whl")
    return wheel


def test_the_sdk_wheel_holds_the_sdk_alone(sdk_wheel: Path) -> None:
    assert sdk_wheel.name == f"rockets_client-{SDK_PROJECT['version']}-py3-none-any.whl"
    with zipfile.ZipFile(sdk_wheel) as archive:
        names = set(archive.namelist())
        (info,) = {name.split("/")[0] for name in names if ".dist-info/" in name}
        metadata = email.parser.Parser().parsestr(archive.read(f"{info}/METADATA").decode())
    packages = {name.split("/")[0] for name in names} - {info}
    assert packages == {"rockets_client"}
    assert {
        "rockets_client/py.typed",
        "rockets_client/standard.py",
        "rockets_client/wire.py",
    } <= names
    assert metadata["Name"] == "rockets-client"
    required = {Requirement(r).name for r in metadata.get_all("Requires-Dist")}
    assert required == {"httpx", "httpx-sse", "msgspec", "typing-extensions"}


def wheel_of_installed(name: str, house: Path) -> None:
    """A wheel of the distribution ``name`` made from its files as this environment has them
    installed (as its RECORD lists them; scripts are made again from its entry points), into
    ``house``: what a new environment installs with ``--no-index``, without the network."""
    dist = importlib.metadata.distribution(name)
    files = [f for f in dist.files or [] if f.parts[0] != ".." and "__pycache__" not in f.parts]
    info = next(f.parts[0] for f in files if f.parts[0].endswith(".dist-info"))
    local = {"INSTALLER", "REQUESTED", "RECORD", "direct_url.json"}
    kept = [f for f in files if not (f.parts[0] == info and f.name in local)]
    tag = re.search(r"^Tag: (\S+)$", dist.read_text("WHEEL") or "", re.M)
    assert tag is not None, f"{name} has no wheel tag"
    stem = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    with zipfile.ZipFile(house / f"{stem}-{dist.version}-{tag[1]}.whl", "w") as wheel:
        record = []
        for path in kept:
            data = Path(str(dist.locate_file(path))).read_bytes()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{path.as_posix()},sha256={digest.decode()},{len(data)}")
            wheel.writestr(path.as_posix(), data)
        record.append(f"{info}/RECORD,,")
        wheel.writestr(f"{info}/RECORD", "\n".join(record) + "\n")


def requirements_closure(names: list[str]) -> set[str]:
    """``names`` and every distribution they require here (no extras), as installed."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        for text in importlib.metadata.distribution(name).requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


USER_SCRIPT = """\
from rockets_client import RocketLaunched, RocketsClient, StreamedEvent


def speeds(url: str) -> list[int]:
    with RocketsClient(url) as client:
        client.send(RocketLaunched(type="F9", launch_speed=5, mission="M"), channel="c", number=1)
        found = [rocket.speed for rocket in client.iter_rockets(status="flying")]
        for item in client.stream(timeout=0.1, idle_timeout=30):
            if isinstance(item.data, StreamedEvent):
                found.append(item.data.state.speed)
    return found
"""
WRONG_SCRIPT = """\
from rockets_client import RocketsClient

mission: int = RocketsClient().rocket("c").mission
"""


def type_check(mypy: list[str], folder: Path) -> tuple[str, str]:
    """What ``mypy --strict`` says of a user's script, and of one that misreads a field, in
    ``folder`` (outside the repository, no configuration)."""
    (folder / "user.py").write_text(USER_SCRIPT)
    (folder / "wrong.py").write_text(WRONG_SCRIPT)
    said = []
    for script in ("user.py", "wrong.py"):
        result = subprocess.run(
            [*mypy, "--strict", "--no-incremental", script],
            capture_output=True, text=True, timeout=300, cwd=folder, env=clean_environment(),
        )  # fmt: skip
        said.append(result.stdout + result.stderr)
    return said[0], said[1]


def clean_environment() -> dict[str, str]:
    """The environment, less what would point Python or mypy at this repository."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MYPYPATH")}


def test_mypy_strict_finds_the_sdk_of_the_development_install(tmp_path: Path) -> None:
    """A script outside the repository, type-checked with the project's own environment (the
    SDK installed editable): mypy finds ``rockets_client`` and its types."""
    passed, failed = type_check([sys.executable, "-m", "mypy"], tmp_path)
    assert "Success: no issues found" in passed, passed
    assert 'Incompatible types in assignment (expression has type "str | None"' in failed, failed


def test_the_sdk_wheel_alone_in_a_new_environment(sdk_wheel: Path, tmp_path: Path) -> None:
    """The SDK's wheel installed alone in a new virtual environment, its dependencies (and
    mypy) from wheels of what this environment has installed, without the network: neither
    Litestar nor uvicorn comes along; the docs' example runs against a real server with it,
    and a user's script passes ``mypy --strict``."""
    house = tmp_path / "house"
    house.mkdir()
    needed = requirements_closure(
        [Requirement(r).name for r in SDK_PROJECT["dependencies"]] + ["mypy"]
    )
    for name in needed:
        wheel_of_installed(name, house)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links",
         str(house), str(sdk_wheel), "mypy"],
        check=True, timeout=300, env=clean_environment(),
    )  # fmt: skip
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    installed = {line.split("==")[0].lower() for line in listed.split()}
    assert "rockets-client" in installed
    assert installed & {"litestar", "uvicorn", "pluggy", "rockets-telemetry"} == set()

    script = tmp_path / "sdk_usage.py"
    shutil.copy(ROOT / "docs" / "examples" / "sdk_usage.py", script)
    port = free_port()
    command = [str(BIN / "rockets"), "serve", "--port", str(port)]
    with running(command, port, env={"ROCKETS_BLOCKED_PLUGINS": EXAMPLE_PACKAGE}) as server:
        ran = subprocess.run(
            [str(python), str(script), server.url],
            capture_output=True, text=True, timeout=120, cwd=tmp_path, env=clean_environment(),
        )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "Falcon-9 at 1000 on ARTEMIS" in ran.stdout
    assert "events: [1, 2, 3, 4]" in ran.stdout
    assert ran.stdout.rstrip().endswith("exploded")

    checking = tmp_path / "checking"
    checking.mkdir()
    shutil.copy(script, checking / "sdk_usage.py")
    passed, failed = type_check([str(venv / "bin" / "mypy")], checking)
    assert "Success: no issues found" in passed, passed
    assert 'Incompatible types in assignment (expression has type "str | None"' in failed, failed
    example = subprocess.run(
        [str(venv / "bin" / "mypy"), "--strict", "--no-incremental", "sdk_usage.py"],
        capture_output=True, text=True, timeout=300, cwd=checking, env=clean_environment(),
    )  # fmt: skip
    assert "Success: no issues found" in example.stdout, example.stdout + example.stderr
