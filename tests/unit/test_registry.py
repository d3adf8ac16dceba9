from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import msgspec
import pytest

from rockets import Event, EventType, RocketState, hookimpl
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


class RocketLaunched(msgspec.Struct):
    """A payload named as a standard type's."""

    level: int


def unchanged(state: RocketState, event: Event[Any]) -> RocketState:
    return state


class Types:
    """A plugin whose register_event_types returns what ``offer`` makes."""

    def __init__(self, offer: Callable[[], Any]) -> None:
        self.offer = offer

    @hookimpl
    def register_event_types(self) -> Any:
        return self.offer()


class Copycat(Types):
    """Registers RocketLaunched, which a standard plugin registers already."""

    def __init__(self) -> None:
        super().__init__(lambda: [EventType(schema=RocketLaunched, apply=unchanged)])


def test_same_type_twice_stops_startup_naming_both_plugins() -> None:
    with pytest.raises(PluginError, match="RocketLaunched") as info:
        load_plugins(Settings(), plugins=[Copycat()]).registry()
    assert "Copycat" in str(info.value)
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


class X(msgspec.Struct):
    level: int


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (lambda: [42], "must return EventType records"),
        (lambda: [EventType(schema=dict, apply=unchanged)], "msgspec.Struct class"),
        (lambda: [EventType(schema=X, apply=None)], "not callable"),
        (
            lambda: [EventType(name="Y", schema=X, apply=unchanged)],
            "not the name its schema declares",
        ),
        (lambda: 1 / 0, "plugin 'Types' failed in register_event_types: ZeroDivisionError"),
    ],
)
def test_invalid_registrations_are_refused(returned: Callable[[], Any], message: str) -> None:
    with pytest.raises(PluginError, match=message):
        load_plugins(Settings(), plugins=[Types(returned)]).registry()


def test_registry_is_read_only() -> None:
    registry = load_plugins(Settings()).registry()
    with pytest.raises(TypeError):
        registry["X"] = registry["RocketLaunched"]  # type: ignore[index]


class Dotted(msgspec.Struct):
    message_type: ClassVar[str] = "rocket.dotted"
    level: int


class Again(msgspec.Struct):
    level: int


def test_a_type_is_named_by_its_schema() -> None:
    offer = lambda: [EventType(schema=Dotted, apply=unchanged)]  # noqa: E731
    registry = load_plugins(Settings(), plugins=[Types(offer)]).registry()
    assert "rocket.dotted" in registry
    assert "Dotted" not in registry
    # Naming it again, the same way, is allowed.
    again = lambda: [EventType(name="Again", schema=Again, apply=unchanged)]  # noqa: E731
    assert "Again" in load_plugins(Settings(), plugins=[Types(again)]).registry()
