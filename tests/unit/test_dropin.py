"""A drop-in plugin file imported by its path, by a script as by the server."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import msgspec
import pytest

from rockets.client import import_plugin_file

# The docs' pattern: postponed annotations, a ClassVar, a state class and a payload.
PLUGIN = """
from __future__ import annotations

from typing import ClassVar

import msgspec

from rockets import RocketState


class LandingState(RocketState, frozen=True, kw_only=True):
    last_site: str | None = None


class RocketLanded(msgspec.Struct, frozen=True, rename="camel"):
    message_type: ClassVar[str] = "RocketLanded"
    landing_site: str
"""


@pytest.fixture
def plugin_file(tmp_path: Path) -> Path:
    path = tmp_path / "rocket_landing.py"
    path.write_text(PLUGIN)
    return path


def test_a_file_run_outside_sys_modules_fails_on_its_class_var(
    plugin_file: Path,
) -> None:
    # Why the helper exists: the plain importlib recipe leaves the annotations unresolvable.
    spec = importlib.util.spec_from_file_location("loose_landing", plugin_file)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # msgspec resolves the postponed annotations through sys.modules: 0.23 refuses the class
    # outright, 0.22 could not see that "ClassVar[str]" is a ClassVar and made it a field.
    with pytest.raises((KeyError, TypeError), match=r"is not loaded|cannot follow optional fields"):
        spec.loader.exec_module(module)


def test_the_helper_imports_the_file_so_its_types_decode(plugin_file: Path) -> None:
    module = import_plugin_file(plugin_file)
    assert module.__name__ == "rockets_dropin_rocket_landing"
    assert sys.modules[module.__name__] is module
    landed = msgspec.json.decode(b'{"landingSite": "LZ-1"}', type=module.RocketLanded)
    assert landed.landing_site == "LZ-1"
    assert module.RocketLanded.message_type == "RocketLanded"
    state = msgspec.json.decode(b'{"channel": "c", "lastSite": "LZ-1"}', type=module.LandingState)
    assert state.last_site == "LZ-1"


def test_each_import_runs_the_file_as_it_is_now(plugin_file: Path) -> None:
    first = import_plugin_file(plugin_file)
    plugin_file.write_text(PLUGIN.replace("landing_site: str", "pad: int"))
    second = import_plugin_file(plugin_file)
    assert second is not first
    assert sys.modules["rockets_dropin_rocket_landing"] is second
    assert msgspec.json.decode(b'{"pad": 2}', type=second.RocketLanded).pad == 2


def test_a_file_that_fails_leaves_the_module_it_replaced(plugin_file: Path) -> None:
    kept = import_plugin_file(plugin_file)
    plugin_file.write_text("raise RuntimeError('broken plugin')\n")
    with pytest.raises(RuntimeError, match="broken plugin"):
        import_plugin_file(plugin_file)
    assert sys.modules["rockets_dropin_rocket_landing"] is kept


def test_a_path_that_is_not_a_python_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImportError, match="is not a Python file"):
        import_plugin_file(tmp_path / "missing.py")
    (tmp_path / "notes.txt").write_text("x = 1\n")
    with pytest.raises(ImportError, match="is not a Python file"):
        import_plugin_file(tmp_path / "notes.txt")
