"""The shape of the code: imports go down the layers of docs/architecture.md, with no cycle.

The layer of every module is read from the module table of docs/architecture.md, so that the
document and the code cannot drift apart: a module missing from the table fails here too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from ..conftest import ROOT

PACKAGE = ROOT / "rockets"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
ROW = re.compile(r"^\| `(?P<path>[^`]+)` \| (?P<layer>L[0-4]|SDK) \|", re.M)
ORDER = {"L0": 0, "L1": 1, "L2": 2, "L3": 3, "L4": 4}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def documented_layers() -> dict[str, str]:
    rows = {m["path"]: m["layer"] for m in ROW.finditer(ARCHITECTURE.read_text())}
    layers = {}
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
        found.update(name for name in names if name.split(".")[0] == "rockets")
    return {name if name in MODULES else name.rsplit(".", 1)[0] for name in found}


GRAPH = {name: imports_of(path) - {name} for name, path in MODULES.items()}


def allowed(importer: str, imported: str) -> bool:
    mine, theirs = LAYERS[importer], LAYERS[imported]
    if mine == "SDK":
        return theirs in ("SDK", "L0")
    if theirs == "SDK":
        return mine == "L4"
    return ORDER[theirs] <= ORDER[mine]


def test_every_module_is_in_the_architecture_table() -> None:
    assert sorted(set(MODULES) - set(LAYERS)) == []


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
    assert "rockets.registry" in GRAPH["rockets.codec"]
    assert not allowed("rockets.codec", "rockets.service")
    assert not allowed("rockets.wire", "rockets.registry")
    assert allowed("rockets.launch", "rockets.client")
    assert not allowed("rockets.service", "rockets.client")


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
    assert imports_of(path) <= {"rockets"}
