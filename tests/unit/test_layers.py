"""The shape of the code: imports go down the layers of docs/architecture.md, with no cycle.

The layer of every package and top-level module is read from the table of docs/architecture.md,
so that the document and the code cannot drift apart: a module no row covers fails here too.
The SDK (``sdk/``, the package ``rockets_client``) is the lowest layer, a distribution of its
own: any module of rockets may import it, and it imports nothing but the standard library and
the dependencies its own ``pyproject.toml`` declares.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from ..conftest import ROOT

PACKAGE = ROOT / "rockets"
SDK_ROOT = ROOT / "sdk"
SDK_PACKAGE = SDK_ROOT / "src" / "rockets_client"
SDK = "rockets_client"
"""How the layer graph names the SDK: one unit, below everything of rockets."""
ARCHITECTURE = ROOT / "docs" / "architecture.md"
ROW = re.compile(r"^\| `(?P<path>[^`]+)` \| (?P<layer>L[0-4]|SDK) \|", re.M)
ORDER = {"SDK": -1, "L0": 0, "L1": 1, "L2": 2, "L3": 3, "L4": 4}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def documented_layers() -> dict[str, str]:
    rows = {m["path"]: m["layer"] for m in ROW.finditer(ARCHITECTURE.read_text())}
    layers = {SDK: rows.get(f"{SDK_PACKAGE.relative_to(ROOT).as_posix()}/", "")}
    for name, path in MODULES.items():
        relative = path.relative_to(PACKAGE).as_posix()
        package_row = next(
            (row for row in rows if row.endswith("/") and relative.startswith(row)), None
        )
        row = relative if relative in rows else package_row
        if row is not None:
            layers[name] = rows[row]
    return layers


LAYERS = documented_layers()


def imports_of(path: Path) -> set[str]:
    """Every rockets module ``path`` imports, wherever the import stands (inside functions and
    ``TYPE_CHECKING`` blocks too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from rockets import hookspecs`` imports a module; ``from rockets import Event``
            # imports a name of the package.
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in MODULES
                else node.module
                for alias in node.names
            ]
        else:
            continue
        found.update(name for name in names if name.split(".")[0] in ("rockets", SDK))
    return {
        SDK if name.split(".")[0] == SDK else name if name in MODULES else name.rsplit(".", 1)[0]
        for name in found
    }


# The SDK imports nothing of rockets (test_the_sdk_imports_nothing_but_its_dependencies).
GRAPH = {name: imports_of(path) - {name} for name, path in MODULES.items()} | {SDK: set()}


def allowed(importer: str, imported: str) -> bool:
    return ORDER[LAYERS[imported]] <= ORDER[LAYERS[importer]]


def test_every_module_is_in_the_architecture_table() -> None:
    assert sorted(set(MODULES) - set(LAYERS)) == []
    assert LAYERS[SDK] == "SDK", "docs/architecture.md has no row for sdk/src/rockets_client/"


@pytest.mark.parametrize("importer", sorted(MODULES))
def test_imports_go_down_the_layers(importer: str) -> None:
    upward = [
        f"{importer} ({LAYERS[importer]}) imports {imported} ({LAYERS[imported]})"
        for imported in sorted(GRAPH[importer])
        if not allowed(importer, imported)
    ]
    assert upward == []


def test_no_import_cycle() -> None:
    # Tarjan's strongly connected components: a component of more than one module is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(GRAPH[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert cycles == []


def test_the_layer_test_sees_an_upward_import() -> None:
    # A sanity check of the machinery itself: the codec (L1) really imports the registry (L1),
    # and an import of the service (L3) from the codec would be refused.
    assert "rockets.core.registry" in GRAPH["rockets.core.codec"]
    assert not allowed("rockets.core.codec", "rockets.runtime.service")
    assert not allowed("rockets.runtime.service", "rockets.http.answers")
    assert not allowed("rockets.wire", "rockets.core.registry")
    assert allowed("rockets.launch", "rockets.client")
    assert not allowed("rockets.runtime.service", "rockets.client")
    assert "rockets_client" in GRAPH["rockets.wire"]  # the shapes are the SDK's
    assert allowed("rockets.wire", "rockets_client")
    assert not allowed("rockets_client", "rockets.wire")


# --- the SDK: a distribution of its own, below the server ------------------------------------

SDK_PROJECT = tomllib.loads((SDK_ROOT / "pyproject.toml").read_text())["project"]
SDK_DEPENDENCIES = {
    Requirement(text).name.replace("-", "_") for text in SDK_PROJECT["dependencies"]
}


def foreign_imports(path: Path) -> list[str]:
    """The top-level modules ``path`` imports (wherever the import stands) that are neither the
    standard library, the SDK itself nor one of the SDK's declared dependencies."""
    tops = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            tops.add(node.module.split(".")[0])
    return sorted(tops - set(sys.stdlib_module_names) - {SDK} - SDK_DEPENDENCIES)


SDK_MODULES = sorted(SDK_PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SDK_MODULES, ids=lambda p: p.name)
def test_the_sdk_imports_nothing_but_its_dependencies(path: Path) -> None:
    assert foreign_imports(path) == []


def test_the_sdk_check_sees_an_import_of_the_server(tmp_path: Path) -> None:
    module = tmp_path / "leak.py"
    module.write_text(
        "import json\nimport httpx\nfrom rockets_client.wire import Ack\n"
        "def f():\n    from rockets.wire import in_words\n    import rockets_standard.messages\n"
    )
    assert foreign_imports(module) == ["rockets", "rockets_standard"]
    assert {"httpx", "httpx_sse", "msgspec", "typing_extensions"} == SDK_DEPENDENCIES
    assert len(SDK_MODULES) >= 10


def unit_of(module: str) -> str:
    """A module's unit in the shape: its top-level package, or itself when it stands directly
    in ``rockets/``."""
    if module == SDK:
        return SDK
    parts = module.split(".")
    return (
        ".".join(parts[:2]) if len(parts) > 2 or MODULES[module].name == "__init__.py" else module
    )


def test_the_folder_shows_the_layers() -> None:
    top = [p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    assert len(top) <= 16, sorted(top)
    units: dict[str, set[str]] = {}
    for importer, imported in GRAPH.items():
        if importer == SDK:
            continue  # not in the folder: a distribution of its own
        mine = unit_of(importer)
        units.setdefault(mine, set()).update(
            unit_of(i) for i in imported if unit_of(i) not in (mine, SDK)
        )
    levels: dict[str, int] = {}

    def level(unit: str) -> int:
        if unit not in levels:
            levels[unit] = 0  # a cycle stops here; test_no_import_cycle names it
            levels[unit] = 1 + max((level(u) for u in units[unit] if u != "rockets"), default=0)
        return levels[unit]

    assert len(units) <= 32, sorted(units)
    assert max(level(u) for u in units) <= 12, levels


def test_importing_the_package_loads_no_server_layer() -> None:
    # A fresh interpreter: what this one has imported already says nothing.
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, rockets; rockets.__version__; "
            "print(' '.join(m for m in sys.modules if m.startswith('rockets.')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert [m for m in loaded if m.split(".")[1] in ("runtime", "http", "stores")] == []


PLUGIN_FILES = sorted(
    [
        *(ROOT / "plugins" / "rockets_standard").glob("*.py"),
        *(ROOT / "plugins" / "rockets-fuel" / "rockets_fuel").glob("*.py"),
        *(ROOT / "docs" / "examples" / "plugins").glob("*.py"),
        *(ROOT / "docs" / "examples" / "hooks").glob("*.py"),
        *(ROOT / "docs" / "examples" / "state_plugins").glob("*.py"),
    ]
)


@pytest.mark.parametrize("path", PLUGIN_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_plugins_import_only_the_public_api(path: Path) -> None:
    assert imports_of(path) <= {"rockets", SDK}  # the SDK's package is public as a whole
