"""The test kit for plugin authors: plugin objects given to ``create_app``, ``rockets.fields``,
the settings and server helpers of ``rockets.testing``, and the pytest plugin itself."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any, assert_type

import msgspec
import pytest
import rockets_fuel.plugin
from litestar.testing import TestClient
from rockets_fuel import FuelState

import rockets
import rockets.client
from rockets import Event, EventType, RocketState, fields, hookimpl
from rockets.app import build_service, create_app, load_plugins
from rockets.client import RocketsClient, import_plugin_file
from rockets.errors import PluginError
from rockets.settings import Settings
from rockets.testing import environment_of, served_plugins, standard_settings

from ..conftest import EXAMPLE_PACKAGE, ROOT, core_settings

LANDED = ROOT / "docs" / "examples" / "plugins" / "rocket_landed.py"


class Beeped(msgspec.Struct, frozen=True):
    """A payload of a plugin written as a class, in this file."""

    loud: bool = False


class BeepState(RocketState, frozen=True, kw_only=True):
    beeps: int = 0


class Beeper:
    """A plugin that is an object: its hooks are methods."""

    @hookimpl
    def register_event_types(self) -> list[EventType[Any]]:
        return [EventType(schema=Beeped, apply=self.beep)]

    @hookimpl
    def extend_rocket_state(self) -> type[RocketState]:
        return BeepState

    def beep(self, state: RocketState, event: Event[Beeped]) -> RocketState:
        return msgspec.structs.replace(state, beeps=fields(state, BeepState).beeps + 1)


def listed(client: TestClient[Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in client.get("/plugins").json()["plugins"]}


# --- create_app(plugins=...) -----------------------------------------------------------------


def test_plugin_objects_are_served_after_the_configured_ones() -> None:
    landed = import_plugin_file(LANDED)
    app = create_app(core_settings(), plugins=[landed, Beeper()])
    with TestClient(app) as client:
        beep = {"metadata": {"channel": "b", "messageType": "Beeped"}, "message": {}}
        assert client.post("/messages", json=beep).status_code == 202
        assert client.get("/rockets/b").json()["beeps"] == 1
        plugins = listed(client)
    loaded = list(app.service.hooks.manager.sources)  # in the order they were registered
    assert loaded.index("rocket_launched") < loaded.index("rocket_landed") < loaded.index("Beeper")
    assert plugins["rocket_landed"]["source"] == "registered"  # a drop-in file: by its stem
    assert plugins["rocket_landed"]["file"] == str(LANDED)
    assert plugins["rocket_landed"]["messageTypes"] == ["RocketLanded"]
    assert plugins["Beeper"]["source"] == "registered"  # an object: by its class
    assert plugins["Beeper"]["module"] == __name__
    assert plugins["Beeper"]["stateFields"] == ["beeps"]


@pytest.mark.usefixtures("example_installed")
def test_a_plugin_module_is_known_by_its_name() -> None:
    with TestClient(create_app(core_settings(), plugins=[rockets_fuel.plugin])) as client:
        plugins = listed(client)
    assert plugins["rockets_fuel.plugin"]["source"] == "registered"
    assert EXAMPLE_PACKAGE not in plugins  # blocked: its entry point did not load it


@pytest.mark.usefixtures("example_installed")
def test_a_plugin_the_settings_load_already_is_loaded_once() -> None:
    # The fuel package is installed: Settings() loads its entry point, and the module given.
    with TestClient(create_app(Settings(), plugins=[rockets_fuel.plugin])) as client:
        plugins = listed(client)
    assert plugins[EXAMPLE_PACKAGE]["source"] == "entrypoint"
    assert "rockets_fuel.plugin" not in plugins


def test_two_plugin_objects_of_one_name_stop_the_start() -> None:
    with pytest.raises(PluginError, match="two plugins are named 'Beeper'"):
        create_app(core_settings(), plugins=[Beeper(), Beeper()])


def test_a_plugin_object_can_be_blocked_by_its_name() -> None:
    hooks = load_plugins(standard_settings(blocked_plugins=("Beeper",)), plugins=[Beeper()])
    assert "Beeped" not in hooks.registry()


def test_build_service_and_load_plugins_take_plugin_objects() -> None:
    assert "Beeped" in load_plugins(core_settings(), plugins=[Beeper()]).registry()
    assert "Beeped" in build_service(core_settings(), plugins=[Beeper()]).registry


# --- fields ----------------------------------------------------------------------------------


def test_fields_types_the_apps_state_as_the_plugins_class_without_a_copy() -> None:
    service = build_service(core_settings(), plugins=[Beeper(), rockets_fuel.plugin])
    state = service.registry.state.initial("c")
    assert not isinstance(state, FuelState)  # the app's type, composed of every plugin's
    fuel = fields(state, FuelState)
    assert fuel is state
    assert_type(fuel.fuel, int)
    assert (fuel.fuel, fields(state, BeepState).beeps) == (0, 0)
    assert fields(fuel, FuelState) is state  # checked once per type; the same again
    refueled = msgspec.structs.replace(fuel, fuel=5)
    assert type(refueled) is type(state)  # still the app's type, every field kept


def test_fields_of_a_plugin_not_loaded_is_a_type_error() -> None:
    state = build_service(core_settings()).registry.state.initial("c")
    with pytest.raises(TypeError, match="no field 'fuel' of FuelState: is the plugin"):
        fields(state, FuelState)
    with pytest.raises(TypeError, match="not a subclass of RocketState"):
        fields(state, Beeped)  # type: ignore[type-var]


def test_fields_of_a_field_of_another_type_is_a_type_error() -> None:
    class OtherFuel(RocketState, frozen=True, kw_only=True):
        fuel: str = ""

    state = build_service(core_settings(), plugins=[rockets_fuel.plugin]).registry.state
    with pytest.raises(TypeError, match="field 'fuel' is <class 'int'>"):
        fields(state.initial("c"), OtherFuel)


def test_fields_of_a_state_the_sdk_decoded_into_the_class() -> None:
    assert fields(FuelState(channel="c", fuel=3), FuelState).fuel == 3


# --- what rockets and rockets.client export ------------------------------------------------


@pytest.mark.parametrize(
    "name", ["RocketQuery", "EventView", "StreamedEvent", "StreamReset", "fields", "PluginError"]
)
def test_a_plugin_finds_what_it_needs_in_rockets(name: str) -> None:
    assert name in rockets.__all__
    assert getattr(rockets, name) is not None


@pytest.mark.parametrize(
    "name", ["RocketQuery", "StreamedEvent", "StreamReset", "EventView", "RocketState", "Ack"]
)
def test_a_test_finds_the_shapes_in_rockets_client(name: str) -> None:
    assert name in rockets.client.__all__
    assert getattr(rockets.client, name) is getattr(rockets, name, getattr(rockets.client, name))


# --- settings, servers ------------------------------------------------------------------------


@pytest.mark.usefixtures("example_installed")
def test_standard_settings_block_what_other_distributions_install() -> None:
    assert standard_settings().blocked_plugins == (EXAMPLE_PACKAGE,)
    assert standard_settings(blocked_plugins=("x",)).blocked_plugins == (EXAMPLE_PACKAGE, "x")
    hooks = load_plugins(standard_settings())
    assert [n for n in hooks.registry() if "Fuel" in n or "Refueled" in n] == []


def test_settings_written_as_environment_read_back_the_same() -> None:
    settings = Settings(
        store="sqlite:///x.db",
        plugin_modules=("a", "b.c"),
        plugin_autoload=False,
        trace_hooks=True,
        worker_count=2,
        stall_seconds=2.5,
        read_token="secret",
    )
    environment = environment_of(settings)
    assert environment["ROCKETS_DISABLE_PLUGIN_AUTOLOAD"] == "1"
    assert environment["ROCKETS_PLUGINS"] == "a,b.c"
    assert Settings.from_env(environment) == settings
    assert environment_of(Settings()) == {}


def test_a_server_process_loads_modules_by_name_and_drop_ins_from_a_copy(tmp_path: Path) -> None:
    landed = import_plugin_file(LANDED)
    served = served_plugins(Settings(), [rockets_fuel.plugin, landed], tmp_path / "plugins")
    assert served.plugin_modules == ("rockets_fuel.plugin",)
    assert served.plugins_dir == str(tmp_path / "plugins")
    assert (tmp_path / "plugins" / "rocket_landed.py").read_text() == LANDED.read_text()
    with pytest.raises(ValueError, match="'Beeper' is a Beeper, not a module"):
        served_plugins(Settings(), [Beeper()], tmp_path / "other")


# --- the pytest plugin -------------------------------------------------------------------------


def test_pytest_finds_the_plugin_by_its_entry_point(pytestconfig: pytest.Config) -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    assert declared["pytest11"] == {"rockets": "rockets.testing.pytest_plugin"}
    # This session's pytest loaded it by that entry point (the installed one: `make venv`).
    plugin = pytestconfig.pluginmanager.get_plugin("rockets")
    assert plugin is not None, "reinstall the project (make venv) for its pytest11 entry point"
    assert plugin.__name__ == "rockets.testing.pytest_plugin"


def test_the_pytest_plugin_loads_no_part_of_the_server_until_asked() -> None:
    # pytest loads it in every run, wherever rockets is installed.
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, rockets.testing.pytest_plugin; "
            "print(' '.join(m for m in sys.modules if m.startswith(('rockets.', 'litestar'))))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert [m for m in loaded if m.startswith("litestar") or ".runtime" in m or ".http" in m] == []


def run_pytest(folder: Path, code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (folder / "test_it.py").write_text(code)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_a_test_that_needs_postgresql_fails_in_one_line_without_it(tmp_path: Path) -> None:
    code = "def test_needs_it(rockets_postgres_url):\n    pass\n"
    env = {k: v for k, v in os.environ.items() if k != "ROCKETS_TEST_POSTGRES_URL"}
    result = run_pytest(tmp_path, code, env)
    assert result.returncode == 1, result.stdout
    assert "1 error" in result.stdout
    assert "this test needs PostgreSQL: set ROCKETS_TEST_POSTGRES_URL" in result.stdout
    assert "skipped" not in result.stdout


def test_the_marker_names_the_plugins_of_a_test(tmp_path: Path) -> None:
    code = (
        "import pytest, rockets_fuel.plugin\n"
        "from rockets_fuel import FuelState, RocketRefueled\n"
        "from rockets import fields\n\n"
        "@pytest.mark.rockets_plugins(rockets_fuel.plugin)\n"
        "def test_fuel(rockets_client):\n"
        "    rockets_client.send(RocketRefueled(amount=3), channel='f', number=1)\n"
        "    assert fields(rockets_client.rocket('f'), FuelState).fuel == 3\n\n"
        "def test_none(rockets_plugins, rockets_client):\n"
        "    assert rockets_plugins == []\n"
        "    assert 'RocketRefueled' not in rockets_client.health().message_types\n"
    )
    # The example package is importable as this project's tests import it (not installed).
    example = str(ROOT / "plugins" / "rockets-fuel")
    result = run_pytest(tmp_path, code, {**os.environ, "PYTHONPATH": example})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_the_sdk_client_of_the_kit_reads_every_plugins_fields(
    rockets_client: RocketsClient,
) -> None:
    # This project's own tests have the kit too (its fixtures are all named rockets_*).
    assert "RocketLaunched" in rockets_client.health().message_types
    assert EXAMPLE_PACKAGE not in {p.name for p in rockets_client.plugins().plugins}
