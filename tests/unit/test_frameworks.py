"""The frameworks rockets leans on: used through their public API only, and installed within the
range ``pyproject.toml`` declares (a next major version is not assumed to work); the SDK's too,
from its own ``sdk/pyproject.toml``."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, version

import pytest
from packaging.requirements import Requirement

from ..conftest import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SDK_PROJECT = tomllib.loads((ROOT / "sdk" / "pyproject.toml").read_text())
REQUIREMENTS = [
    Requirement(text)
    for project in (PROJECT, SDK_PROJECT)
    for text in [
        *project["project"]["dependencies"],
        *(
            r
            for extra in project["project"].get("optional-dependencies", {}).values()
            for r in extra
        ),
        *project["build-system"]["requires"],
    ]
]
FRAMEWORKS = ("litestar", "uvicorn", "pluggy", "msgspec", "psycopg", "httpx", "httpx_sse")
SOURCES = [*(ROOT / "rockets").rglob("*.py"), *(ROOT / "sdk" / "src").rglob("*.py")]
# A name with a leading underscore reached through a framework's module path, or Litestar's
# kwargs model (``_create_kwargs_model`` on its main branch).
PRIVATE = re.compile(
    rf"\b(?:{'|'.join(FRAMEWORKS)})(?:\.\w+)*\._\w|create_kwargs_model|"
    rf"from (?:{'|'.join(FRAMEWORKS)})(?:\.\w+)* import [^\n]*\b_\w"
)


@pytest.mark.parametrize("requirement", REQUIREMENTS, ids=str)
def test_every_dependency_has_an_upper_bound(requirement: Requirement) -> None:
    assert any(spec.operator in ("<", "<=", "==", "~=") for spec in requirement.specifier)


@pytest.mark.parametrize("requirement", REQUIREMENTS, ids=str)
def test_what_is_installed_is_in_the_declared_range(requirement: Requirement) -> None:
    try:
        installed = version(requirement.name)
    except PackageNotFoundError:
        pytest.fail(f"{requirement.name} is declared but not installed: run make venv")
    assert requirement.specifier.contains(installed, prereleases=True), (
        f"{requirement.name} {installed} is outside {requirement.specifier}"
    )


def test_no_private_name_of_a_framework_is_used() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted(SOURCES)
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if PRIVATE.search(line)
    ]
    assert found == []


def test_the_sdk_is_checked_too() -> None:
    assert "rockets-client" in {r.name for r in REQUIREMENTS}  # the server's dependency on it
    assert {"httpx-sse", "typing-extensions"} <= {r.name for r in REQUIREMENTS}
    assert ROOT / "sdk" / "src" / "rockets_client" / "stream.py" in SOURCES


def test_the_private_name_check_sees_one() -> None:
    assert PRIVATE.search("handler._create_kwargs_model(") is not None
    assert PRIVATE.search("from litestar._signature import SignatureModel") is not None
    assert PRIVATE.search("from uvicorn.protocols.http.h11_impl import _Thing") is not None
    assert PRIVATE.search("from uvicorn.protocols.http.h11_impl import H11Protocol") is None
    assert PRIVATE.search("from httpx_sse._decoders import SSEDecoder") is not None
