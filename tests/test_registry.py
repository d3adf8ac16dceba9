from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from rockets.errors import PluginError
from rockets.plugins import build_plugin_manager
from rockets.registry import build_registry

from .conftest import EXAMPLE_PACKAGE

STANDARD = [
    "RocketExploded",
    "RocketLaunched",
    "RocketMissionChanged",
    "RocketSpeedDecreased",
    "RocketSpeedIncreased",
]

PLUGIN = """
import msgspec
from rockets import EventType, hookimpl

class Payload(msgspec.Struct):
    level: int

def apply(state, event):
    return state

@hookimpl
def register_event_types():
    return [EventType(name={name!r}, schema=Payload, apply=apply)]
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def test_standard_types_load_through_entry_points() -> None:
    pm = build_plugin_manager(blocked=[EXAMPLE_PACKAGE])
    registry = build_registry(pm)
    assert registry.names == STANDARD
    # Each type is its own plugin, registered under its entry-point name.
    plugins = {registry[name].plugin for name in STANDARD}
    assert len(plugins) == 5
    for name in STANDARD:
        registered = registry[name]
        assert registered.event_type.name == name
        assert issubclass(registered.event_type.schema, msgspec.Struct)
        assert pm.get_plugin(registered.plugin) is not None


def test_drop_in_directory_adds_a_type(tmp_path: Path) -> None:
    write(tmp_path, "refuel.py", PLUGIN.format(name="RocketRefueled"))
    write(tmp_path, "_helper.py", "raise RuntimeError('files starting with _ are skipped')")
    write(tmp_path, "notes.txt", "not python")
    registry = build_registry(build_plugin_manager(tmp_path, [EXAMPLE_PACKAGE]))
    assert registry.names == sorted([*STANDARD, "RocketRefueled"])
    assert registry["RocketRefueled"].plugin == "refuel"


def test_same_type_twice_stops_startup_naming_both_plugins(tmp_path: Path) -> None:
    write(tmp_path, "copycat.py", PLUGIN.format(name="RocketLaunched"))
    with pytest.raises(PluginError, match="RocketLaunched") as info:
        build_registry(build_plugin_manager(tmp_path))
    assert "copycat" in str(info.value)
    assert "rocket_launched" in str(info.value)


def test_broken_drop_in_names_the_file(tmp_path: Path) -> None:
    write(tmp_path, "broken.py", "def oops(:\n")
    with pytest.raises(PluginError, match=r"broken\.py.*failed to import"):
        build_plugin_manager(tmp_path)


def test_unknown_hook_is_refused(tmp_path: Path) -> None:
    write(
        tmp_path,
        "typo.py",
        "from rockets import hookimpl\n\n@hookimpl\ndef register_event_type():\n    return []\n",
    )
    with pytest.raises(PluginError, match="typo"):
        build_plugin_manager(tmp_path)


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match="not a directory"):
        build_plugin_manager(tmp_path / "absent")


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        ("[42]", "must return EventType records"),
        ("[EventType(name='', schema=Payload, apply=apply)]", "non-empty name"),
        ("[EventType(name='X', schema=dict, apply=apply)]", "msgspec.Struct class"),
        ("[EventType(name='X', schema=Payload, apply=None)]", "not callable"),
    ],
)
def test_invalid_registrations_are_refused(tmp_path: Path, returned: str, message: str) -> None:
    text = PLUGIN.format(name="X").replace(
        "return [EventType(name='X', schema=Payload, apply=apply)]", f"return {returned}"
    )
    write(tmp_path, "bad.py", text)
    with pytest.raises(PluginError, match=message):
        build_registry(build_plugin_manager(tmp_path))


def test_registry_is_read_only() -> None:
    registry = build_registry(build_plugin_manager())
    with pytest.raises(TypeError):
        registry["X"] = registry["RocketLaunched"]  # type: ignore[index]
