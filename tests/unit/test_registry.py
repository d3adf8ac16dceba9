from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from rockets.app import load_plugins
from rockets.errors import PluginError
from rockets.runtime.plugin_manager import build_plugin_manager
from rockets.settings import Settings

from ..conftest import EXAMPLE_PACKAGE

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

class {name}(msgspec.Struct):
    level: int

def apply(state, event):
    return state

@hookimpl
def register_event_types():
    return [EventType(schema={name}, apply=apply)]
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def test_standard_types_load_through_entry_points() -> None:
    hooks = load_plugins(Settings(blocked_plugins=(EXAMPLE_PACKAGE,)))
    registry = hooks.registry()
    assert registry.names == STANDARD
    # Each type is its own plugin, registered under its entry-point name.
    plugins = {registry[name].plugin for name in STANDARD}
    assert len(plugins) == 5
    for name in STANDARD:
        registered = registry[name]
        assert registered.name == registered.event_type.schema.__name__ == name
        assert issubclass(registered.event_type.schema, msgspec.Struct)
        assert hooks.manager.get_plugin(registered.plugin) is not None


def test_drop_in_directory_adds_a_type(tmp_path: Path) -> None:
    write(tmp_path, "refuel.py", PLUGIN.format(name="RocketRefueled"))
    write(tmp_path, "_helper.py", "raise RuntimeError('files starting with _ are skipped')")
    write(tmp_path, "notes.txt", "not python")
    settings = Settings(plugins_dir=str(tmp_path), blocked_plugins=(EXAMPLE_PACKAGE,))
    registry = load_plugins(settings).registry()
    assert registry.names == sorted([*STANDARD, "RocketRefueled"])
    assert registry["RocketRefueled"].plugin == "refuel"


def test_same_type_twice_stops_startup_naming_both_plugins(tmp_path: Path) -> None:
    write(tmp_path, "copycat.py", PLUGIN.format(name="RocketLaunched"))
    with pytest.raises(PluginError, match="RocketLaunched") as info:
        load_plugins(Settings(plugins_dir=str(tmp_path))).registry()
    assert "copycat" in str(info.value)
    assert "rocket_launched" in str(info.value)


def test_broken_drop_in_names_the_file(tmp_path: Path) -> None:
    write(tmp_path, "broken.py", "def oops(:\n")
    with pytest.raises(PluginError, match=r"broken\.py.*failed to import"):
        load_plugins(Settings(plugins_dir=str(tmp_path)))


def test_unknown_hook_is_refused_with_the_file_and_the_hook_meant(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "typo.py",
        "from rockets import hookimpl\n\n@hookimpl\ndef register_event_type():\n    return []\n",
    )
    with pytest.raises(PluginError) as raised:
        load_plugins(Settings(plugins_dir=str(tmp_path)))
    assert str(raised.value) == (
        f"plugin 'typo' ({path}) implements a hook that does not exist: 'register_event_type' "
        "(did you mean 'register_event_types'?); the hooks are listed in docs/plugin_hooks.md"
    )


def test_a_hook_without_hookimpl_is_a_warning(tmp_path: Path) -> None:
    # pluggy passes over it: the plugin would load with nothing registered, and say nothing.
    path = write(
        tmp_path, "unmarked.py", PLUGIN.format(name="RocketDocked").replace("@hookimpl", "")
    )
    warnings = build_plugin_manager(Settings(plugins_dir=str(tmp_path))).warnings
    assert warnings == [
        f"plugin 'unmarked' ({path}) defines register_event_types without @hookimpl, so it is "
        "never called: decorate it with rockets.hookimpl"
    ]
    write(tmp_path, "unmarked.py", PLUGIN.format(name="RocketDocked"))
    assert build_plugin_manager(Settings(plugins_dir=str(tmp_path))).warnings == []


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match="not a directory"):
        load_plugins(Settings(plugins_dir=str(tmp_path / "absent")))


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        ("[42]", "must return EventType records"),
        ("[EventType(schema=dict, apply=apply)]", "msgspec.Struct class"),
        ("[EventType(schema=X, apply=None)]", "not callable"),
        ("[EventType(name='Y', schema=X, apply=apply)]", "not the name its schema declares"),
        ("1 / 0", "plugin 'bad' failed in register_event_types: ZeroDivisionError"),
    ],
)
def test_invalid_registrations_are_refused(tmp_path: Path, returned: str, message: str) -> None:
    text = PLUGIN.format(name="X").replace(
        "return [EventType(schema=X, apply=apply)]", f"return {returned}"
    )
    write(tmp_path, "bad.py", text)
    with pytest.raises(PluginError, match=message):
        load_plugins(Settings(plugins_dir=str(tmp_path))).registry()


def test_registry_is_read_only() -> None:
    registry = load_plugins(Settings()).registry()
    with pytest.raises(TypeError):
        registry["X"] = registry["RocketLaunched"]  # type: ignore[index]


def test_a_type_is_named_by_its_schema(tmp_path: Path) -> None:
    write(
        tmp_path,
        "dotted.py",
        PLUGIN.format(name="Dotted")
        .replace(
            "    level: int", "    message_type: ClassVar[str] = 'rocket.dotted'\n    level: int"
        )
        .replace("import msgspec", "from typing import ClassVar\nimport msgspec"),
    )
    registry = load_plugins(Settings(plugins_dir=str(tmp_path))).registry()
    assert "rocket.dotted" in registry
    assert "Dotted" not in registry
    # Naming it again, the same way, is allowed.
    write(
        tmp_path,
        "dotted.py",
        PLUGIN.format(name="Again").replace(
            "EventType(schema=Again", "EventType(name='Again', schema=Again"
        ),
    )
    assert "Again" in load_plugins(Settings(plugins_dir=str(tmp_path))).registry()
