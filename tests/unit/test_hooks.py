"""Every hook of the plugin contract, exercised through a real app with real plugin files.

The meta-tests at the end hold the line: each hookspec has a test here named after it and a
section in docs/plugin_hooks.md headed by its exact signature.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pytest
from litestar import get
from litestar.testing import TestClient

from rockets import (
    Event,
    EventType,
    Planned,
    ProjectionType,
    RocketState,
    RocketsView,
    Scenario,
    hookimpl,
    hookspecs,
)
from rockets.app import build_service, create_app, load_plugins
from rockets.client import import_plugin_file
from rockets.errors import PluginError, UnreadableEventError
from rockets.launch import find_scenario
from rockets.settings import Settings

from ..conftest import EXAMPLE_PLUGIN, ROOT, message
from ..plugin_objects import FailingProjection

EXAMPLES = ROOT / "docs" / "examples"
Client = TestClient[Any]


def app_with(*files: Path, tmp_path: Path, plugins: Sequence[object] = (), **settings: Any) -> Any:
    """An app loading the given plugin files as drop-ins, and then the plugin objects."""
    for file in files:
        (tmp_path / file.name).write_text(file.read_text())
    return create_app(Settings(plugins_dir=str(tmp_path), **settings), plugins=plugins)


def dropin(name: str) -> ModuleType:
    return sys.modules[f"rockets_dropin_{name}"]


LAUNCH = {"type": "Falcon-9", "launchSpeed": 100, "mission": "M"}


# --- register_event_types --------------------------------------------------------------------


PINGS_DECODED: list[int] = []
"""The level of every RocketPinged decoded."""


class RocketPinged(msgspec.Struct, frozen=True):
    level: int

    def __post_init__(self) -> None:
        PINGS_DECODED.append(self.level)  # msgspec runs this on every decode


class Counted:
    """A type whose validator, apply and listener note each call."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []

    def apply(self, state: RocketState, event: Event[RocketPinged]) -> RocketState:
        self.seen.append(("apply", event.message.level))
        return state

    @hookimpl
    def register_event_types(self) -> list[EventType[Any]]:
        return [EventType(schema=RocketPinged, apply=self.apply)]

    @hookimpl
    def validate_message(self, event: Event[Any]) -> None:
        self.seen.append(("validate", event.message.level))

    @hookimpl
    def event_applied(self, event: Event[Any], state: RocketState) -> None:
        self.seen.append(("applied", event.message.level))


def test_a_payload_is_decoded_once_for_validators_apply_and_listeners() -> None:
    counted = Counted()
    PINGS_DECODED.clear()
    with TestClient(create_app(Settings(), plugins=[counted])) as client:
        assert (
            client.post("/messages", json=message("p", 2, "RocketPinged", {"level": 2})).status_code
            == 202
        )
        assert (
            client.post("/messages", json=message("p", 1, "RocketPinged", {"level": 1})).status_code
            == 202
        )
        heard(client)
        # Message 2 waited behind the gap; it was applied and heard once message 1 came.
        assert counted.seen == [
            ("validate", 2),
            ("validate", 1),
            ("apply", 1),
            ("apply", 2),
            ("applied", 1),
            ("applied", 2),
        ]
        assert sorted(PINGS_DECODED) == [1, 2]
        # Reading events back from the store decodes nothing; only a replay decodes again.
        assert client.get("/rockets/p/events").status_code == 200
        assert sorted(PINGS_DECODED) == [1, 2]


def test_hook_register_event_types_adds_a_type(tmp_path: Path) -> None:
    app = app_with(EXAMPLES / "plugins" / "rocket_landed.py", tmp_path=tmp_path)
    with TestClient(app) as client:
        client.post("/messages", json=message("r", 1, "RocketLaunched", LAUNCH))
        assert (
            client.post(
                "/messages", json=message("r", 2, "RocketLanded", {"site": "LZ-1"})
            ).status_code
            == 202
        )
        assert client.get("/rockets/r").json()["status"] == "landed"


# --- extend_rocket_state ---------------------------------------------------------------------


@pytest.fixture
def fuel_client() -> Iterator[Client]:
    with TestClient(create_app(Settings(), plugins=[EXAMPLE_PLUGIN])) as client:
        yield client


def fuel_up(client: Client, channel: str, amount: int, speed: int = 100) -> None:
    client.post(
        "/messages", json=message(channel, 1, "RocketLaunched", {**LAUNCH, "launchSpeed": speed})
    )
    client.post("/messages", json=message(channel, 2, "RocketRefueled", {"amount": amount}))


def test_hook_extend_rocket_state_fields_are_served_sorted_and_filtered(
    fuel_client: Client,
) -> None:
    for channel, amount in (("a", 30), ("b", 10), ("c", 20)):
        fuel_up(fuel_client, channel, amount)
    fuel_client.post("/messages", json=message("d", 2, "RocketRefueled", {"amount": 5}))  # waits
    assert fuel_client.get("/rockets/a").json()["fuel"] == 30
    assert fuel_client.get("/rockets/d").json()["fuel"] == 0  # the default until applied
    by_fuel = fuel_client.get("/rockets?sort=fuel&order=desc").json()
    assert [r["channel"] for r in by_fuel] == ["a", "c", "b", "d"]
    filtered = fuel_client.get("/rockets?fuel=20")
    assert [r["channel"] for r in filtered.json()] == ["c"]
    assert filtered.headers["x-total-count"] == "1"
    assert fuel_client.get("/rockets?fuel=lots").status_code == 400
    assert fuel_client.get("/rockets?sort=nothing").status_code == 400
    assert fuel_client.get("/rockets/a?at=1").json()["fuel"] == 0


def test_hook_extend_rocket_state_fields_are_in_openapi(fuel_client: Client) -> None:
    spec = fuel_client.get("/schema/openapi.json").json()
    states = [s for name, s in spec["components"]["schemas"].items() if "RocketState" in name]
    assert any(s["properties"].get("fuel") == {"type": "integer", "default": 0} for s in states)
    parameters = {p["name"]: p for p in spec["paths"]["/rockets"]["get"]["parameters"]}
    assert parameters["fuel"]["schema"] == {"type": "integer"}
    assert "fuel" in parameters["sort"]["schema"]["enum"]


def test_hook_extend_rocket_state_fields_survive_a_restart(tmp_path: Path) -> None:
    settings = Settings(store=f"sqlite:///{tmp_path}/rockets.db")
    with TestClient(create_app(settings, plugins=[EXAMPLE_PLUGIN])) as client:
        fuel_up(client, "a", 42)
    with TestClient(create_app(settings, plugins=[EXAMPLE_PLUGIN])) as client:
        assert client.get("/rockets/a").json()["fuel"] == 42


class SpeedAsFloat(RocketState, frozen=True, kw_only=True):
    speed: float = 0.0


class FuelAgain(RocketState, frozen=True, kw_only=True):
    fuel: int = 1


class NamedLikeAParameter(RocketState, frozen=True, kw_only=True):
    limit: int = 0


class WithoutDefault(RocketState, frozen=True, kw_only=True):
    altitude: int


class StateFields:
    """A plugin whose extend_rocket_state returns what it is given."""

    def __init__(self, extension: object) -> None:
        self.extension = extension

    @hookimpl
    def extend_rocket_state(self) -> object:
        return self.extension


@pytest.mark.parametrize(
    ("extension", "complaint"),
    [
        (SpeedAsFloat, "redefines the built-in state field 'speed'"),
        (FuelAgain, "state field 'fuel' is added twice"),
        (NamedLikeAParameter, "named like a query parameter"),
        (WithoutDefault, "needs a default"),
        (dict, "must return a subclass of RocketState"),
    ],
)
def test_hook_extend_rocket_state_mistakes_stop_startup(extension: object, complaint: str) -> None:
    with pytest.raises(PluginError, match=re.escape(complaint)):
        create_app(Settings(), plugins=[EXAMPLE_PLUGIN, StateFields(extension)])


# --- validate_message ------------------------------------------------------------------------


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Client]:
    with TestClient(app_with(EXAMPLES / "hooks" / "speed_limit.py", tmp_path=tmp_path)) as client:
        yield client


def test_hook_validate_message_refusal_is_a_422_with_the_reason(limited: Client) -> None:
    limited.post("/messages", json=message("r", 1, "RocketLaunched", LAUNCH))
    response = limited.post(
        "/messages", json=message("r", 2, "RocketSpeedIncreased", {"by": 20_000})
    )
    assert response.status_code == 422
    error = response.json()
    assert error["error"] == "rejected"
    assert error["plugin"] == "speed_limit"
    assert "more than 10000" in error["detail"]
    assert error["path"] == "$"
    assert (
        limited.post(
            "/messages", json=message("r", 2, "RocketSpeedIncreased", {"by": 10})
        ).status_code
        == 202
    )
    assert limited.get("/rockets/r").json()["speed"] == 110


def test_hook_validate_message_refuses_a_batch_as_a_whole(limited: Client) -> None:
    batch = [
        message("r", 1, "RocketLaunched", LAUNCH),
        message("r", 2, "RocketSpeedIncreased", {"by": 99_999}),
    ]
    response = limited.post("/messages", json=batch)
    assert response.status_code == 422
    assert response.json()["path"] == "$[1]"
    assert limited.get("/rockets/r").status_code == 404


class BrokenRule:
    @hookimpl
    def validate_message(self, event: Event[Any]) -> str | None:
        return str(1 / 0)


def test_hook_validate_message_that_fails_is_a_500_and_stores_nothing() -> None:
    with TestClient(create_app(Settings(), plugins=[BrokenRule()])) as client:
        response = client.post("/messages", json=message("r", 1, "RocketLaunched", LAUNCH))
        assert response.status_code == 500
        assert response.json()["detail"] == "internal error; see the server log"
        assert "ZeroDivisionError" not in response.text
        assert client.get("/rockets/r").status_code == 404


# --- event_applied, register_routes, startup, shutdown -----------------------------------------


def heard(client: Client) -> None:
    """Wait until the listeners, in their own thread, have heard every event committed."""
    listeners = client.app.service.listeners
    assert listeners is not None
    assert listeners.idle(timeout=60)


@pytest.fixture
def logged(tmp_path: Path) -> Iterator[Client]:
    app = app_with(EXAMPLES / "hooks" / "flight_log.py", tmp_path=tmp_path)
    with TestClient(app) as client:
        yield client


def test_hook_event_applied_hears_each_stored_event_once(logged: Client) -> None:
    logged.post("/messages", json=message("r", 3, "RocketSpeedIncreased", {"by": 50}))
    heard(logged)
    assert dropin("flight_log").counts == {}  # waiting behind a gap: not applied yet
    logged.post(
        "/messages",
        json=[
            message("r", 1, "RocketLaunched", LAUNCH),
            message("r", 2, "RocketSpeedDecreased", {"by": 30}),
        ],
    )
    logged.post("/messages", json=message("r", 1, "RocketLaunched", LAUNCH))  # a duplicate
    heard(logged)
    assert dropin("flight_log").counts == {
        "RocketLaunched": 1,
        "RocketSpeedDecreased": 1,
        "RocketSpeedIncreased": 1,
    }
    assert dropin("flight_log").fastest == {"r": 120}


class BrokenListener:
    @hookimpl
    def event_applied(self, event: Event[Any], state: RocketState) -> None:
        raise RuntimeError("listener bug")


def test_hook_event_applied_failures_change_nothing(tmp_path: Path) -> None:
    app = app_with(
        EXAMPLES / "hooks" / "flight_log.py", tmp_path=tmp_path, plugins=[BrokenListener()]
    )
    with TestClient(app) as client:
        assert (
            client.post("/messages", json=message("r", 1, "RocketLaunched", LAUNCH)).status_code
            == 202
        )
        assert client.get("/rockets/r").json()["speed"] == 100
        heard(client)
        assert dropin("flight_log").counts == {"RocketLaunched": 1}  # the other listener heard it
        assert app.service.hooks.listener_failures == 1


def test_hook_register_routes_serves_the_plugins_route(logged: Client) -> None:
    logged.post("/messages", json=message("r", 1, "RocketLaunched", LAUNCH))
    heard(logged)
    assert logged.get("/flight-log").json() == {
        "events": {"RocketLaunched": 1},
        "topSpeeds": {"r": 100},
    }
    assert "/flight-log" in logged.get("/schema/openapi.json").json()["paths"]
    assert logged.get("/flight-log/nope").json()["error"] == "not_found"


class Squatter:
    """A plugin whose route takes the path of another plugin's."""

    @hookimpl
    def register_routes(self, view: RocketsView) -> list[Any]:
        @get("/flight-log")
        async def mine() -> str:
            return "mine"

        return [mine]


def test_hook_register_routes_collision_stops_startup(tmp_path: Path) -> None:
    # Another plugin's route (a built-in one's path is refused before: tests/unit/test_guards.py).
    with pytest.raises(PluginError, match="routes do not fit together"):
        app_with(EXAMPLES / "hooks" / "flight_log.py", tmp_path=tmp_path, plugins=[Squatter()])


def test_hook_startup_and_shutdown_run_around_the_service(tmp_path: Path) -> None:
    app = app_with(EXAMPLES / "hooks" / "flight_log.py", tmp_path=tmp_path)
    log = dropin("flight_log").lifecycle
    assert log == []
    with TestClient(app) as client:
        assert log == ["started with 5 message types"] or log[0].startswith("started with")
        client.post("/messages", json=message("r", 1, "RocketLaunched", LAUNCH))
    assert log[-1] == "stopped after 1 events"


class Refuses:
    @hookimpl
    async def startup(self, view: RocketsView) -> None:
        raise RuntimeError("not today")


def test_hook_startup_failure_stops_the_start() -> None:
    app = create_app(Settings(), plugins=[Refuses()])
    with pytest.raises(BaseExceptionGroup) as failure, TestClient(app):
        pass
    assert failure.group_contains(
        PluginError, match=r"plugin 'Refuses' failed in startup: RuntimeError\('not today'\)"
    )


class BadGoodbye:
    @hookimpl
    def shutdown(self, view: RocketsView) -> None:
        raise RuntimeError("bye")


def test_hook_shutdown_failure_does_not_stop_the_others(tmp_path: Path) -> None:
    app = app_with(EXAMPLES / "hooks" / "flight_log.py", tmp_path=tmp_path, plugins=[BadGoodbye()])
    with TestClient(app):
        pass
    assert dropin("flight_log").lifecycle[-1] == "stopped after 0 events"


# --- register_projections --------------------------------------------------------------------


def launched(channel: str, number: int, mission: str) -> dict[str, Any]:
    return message(
        channel, number, "RocketLaunched", {"type": "F9", "launchSpeed": 1, "mission": mission}
    )


def projection_at(client: Client, name: str, position: int) -> Any:
    """The projection once it has taken in the log up to ``position`` (it follows the log)."""
    while True:
        answer = client.get(f"/projections/{name}")
        assert answer.status_code == 200, answer.text
        if int(answer.headers["x-position"]) >= position:
            return answer.json()


def test_hook_register_projections_keeps_a_read_model_over_every_channel(tmp_path: Path) -> None:
    app = app_with(EXAMPLES / "projections" / "missions.py", tmp_path=tmp_path)
    with TestClient(app) as client:
        for channel, mission in (("a", "ARTEMIS"), ("b", "APOLLO"), ("c", "ARTEMIS")):
            assert client.post("/messages", json=launched(channel, 1, mission)).status_code == 202
        change = message("a", 2, "RocketMissionChanged", {"newMission": "APOLLO"})
        assert client.post("/messages", json=change).status_code == 202
        assert projection_at(client, "missions", 4) == {
            "events": {"ARTEMIS": 2, "APOLLO": 2},
            "lastChannel": "a",
        }
        listed = {p["name"]: p for p in client.get("/projections").json()}
        assert listed["missions"]["status"] == "running"
        assert listed["missions"]["plugin"] == "missions"
        spec = client.get("/schema/openapi.json").json()
        answer = spec["paths"]["/projections/missions"]["get"]["responses"]["200"]
        assert answer["content"]["application/json"]["schema"]["$ref"].endswith("MissionLog")


def test_hook_register_projections_is_rebuilt_from_the_log_at_start(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    store = f"sqlite:///{tmp_path}/rockets.db"
    for channel, mission in (("a", "ARTEMIS"), ("b", "APOLLO")):
        with TestClient(
            app_with(EXAMPLES / "projections" / "missions.py", tmp_path=plugins, store=store)
        ) as client:
            assert client.post("/messages", json=launched(channel, 1, mission)).status_code == 202
    with TestClient(app_with(tmp_path=plugins, store=store)) as client:
        assert projection_at(client, "missions", 2)["events"] == {"ARTEMIS": 1, "APOLLO": 1}


def test_hook_register_projections_that_fails_is_stopped_not_the_ingest() -> None:
    with TestClient(create_app(Settings(), plugins=[FailingProjection()])) as client:
        for channel in ("ok", "bad", "later"):
            assert client.post("/messages", json=launched(channel, 1, "M")).status_code == 202
        while True:  # the fleet follows the whole log: once it has, the failure happened
            fleet = client.get("/projections/fleet")
            if int(fleet.headers["x-position"]) >= 3:
                break
        seen = {p["name"]: p for p in client.get("/projections").json()}["seen"]
        assert seen["status"] == "stopped"
        assert seen["position"] == 1  # the last event it took in
        assert seen["failedAt"] == 2  # the one it could not take
        assert "ValueError: no bad rockets" in seen["error"]
        assert client.get("/projections/seen").json() == {"n": 1}  # frozen
        assert client.get("/rockets/later").status_code == 200  # ingestion went on
        metrics = client.get("/metrics").text
        assert 'rockets_projection_stopped{name="seen"} 1.0' in metrics
        assert 'rockets_projection_position{name="seen"} 1.0' in metrics


class V(msgspec.Struct):
    n: int = 0


class Snake(msgspec.Struct):
    dock_count: int = 0


def unchanged(value: Any, event: Event[Any], state: RocketState) -> Any:
    return value


def to_snake(value: V) -> list[Snake]:
    return []


class Offers:
    """A plugin whose hook returns what ``offer`` makes."""

    def __init__(self, offer: Callable[[], Any]) -> None:
        self.offer = offer

    @hookimpl
    def register_projections(self) -> Any:
        return self.offer()


@pytest.mark.parametrize(
    ("returned", "complaint"),
    [
        (lambda: [42], "must return ProjectionType records"),
        (
            lambda: [ProjectionType(name="Bad Name", initial=V(), apply=unchanged)],
            "lower case letters",
        ),
        (
            lambda: [ProjectionType(name="v", initial={}, apply=unchanged)],
            "must be a msgspec Struct",
        ),
        (lambda: [ProjectionType(name="v", initial=V(), apply=None)], "needs a callable apply"),
        (
            lambda: [ProjectionType(name="v", initial=V(), apply=unchanged, version=0)],
            "versions start at 1",
        ),
        (
            lambda: [ProjectionType(name="fleet", initial=V(), apply=unchanged)],
            "registered twice",
        ),
        (
            lambda: [ProjectionType(name="v", initial=Snake(), apply=unchanged)],
            r"'dock_count' \(should be",
        ),
        (
            lambda: [ProjectionType(name="v", initial=V(), apply=unchanged, serve=to_snake)],
            r"Snake: .*'dock_count'",
        ),
        (
            lambda: [ProjectionType(name="v", initial=V(), apply=unchanged, serve=lambda v: v)],
            "serve needs a return annotation",
        ),
    ],
)
def test_hook_register_projections_refuses_what_cannot_run(
    returned: Callable[[], Any], complaint: str
) -> None:
    with pytest.raises(PluginError, match=complaint):
        create_app(Settings(), plugins=[Offers(returned)])


# --- register_launch_scenarios ---------------------------------------------------------------


class Quiet:
    """Traffic that only explodes rockets."""

    @staticmethod
    def invent(rng: random.Random, length: int) -> list[Planned]:
        return [Planned("RocketExploded", {"reason": "x"})] * length

    @staticmethod
    def expect(channel: str, life: list[Planned]) -> RocketState:
        return RocketState(
            channel=channel, status="exploded", reason="x", last_message_number=len(life)
        )

    @hookimpl
    def register_launch_scenarios(self) -> list[Scenario]:
        return [Scenario(name="quiet", invent=self.invent, expect=self.expect)]


def test_hook_register_launch_scenarios_offers_traffic() -> None:
    offered = load_plugins(Settings(), plugins=[Quiet()]).launch_scenarios()
    scenario = find_scenario(offered, "quiet")
    assert [p.message_type for p in scenario.invent(random.Random(1), 2)] == ["RocketExploded"] * 2
    assert find_scenario(offered, None).name == "standard"


# --- meta-tests ------------------------------------------------------------------------------

HOOKS = [
    name
    for name, f in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(f, "rockets_spec")
]


def test_the_contract_has_the_hooks_we_test() -> None:
    assert sorted(HOOKS) == sorted(
        [
            "register_event_types",
            "extend_rocket_state",
            "validate_message",
            "event_applied",
            "register_routes",
            "startup",
            "shutdown",
            "register_launch_scenarios",
            "register_projections",
        ]
    )


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook: str) -> None:
    tests = [name for name in globals() if name.startswith(f"test_hook_{hook}_")]
    assert tests, f"no test_hook_{hook}_* in {__name__}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_section_headed_by_its_signature(hook: str) -> None:
    spec = getattr(hookspecs, hook)
    signature = f"{hook}{inspect.signature(spec)}".replace("'", "")
    text = (ROOT / "docs" / "plugin_hooks.md").read_text()
    assert f"## `{signature}`" in text, f"docs/plugin_hooks.md lacks the heading ## `{signature}`"


# --- schema evolution ------------------------------------------------------------------------

LANDED_V1 = EXAMPLES / "plugins" / "rocket_landed.py"
LANDED_V2 = EXAMPLES / "plugins" / "v2" / "rocket_landed.py"


def test_events_of_an_older_payload_version_are_upcast_when_read(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/rockets.db"
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    with TestClient(
        app_with(LANDED_V1, EXAMPLES / "projections" / "missions.py", tmp_path=plugins, store=store)
    ) as client:
        assert client.post("/messages", json=launched("r", 1, "LUNA")).status_code == 202
        landed = message("r", 2, "RocketLanded", {"site": "LZ-1"})
        assert client.post("/messages", json=landed).status_code == 202
        before = client.get("/rockets/r").json()
    # The plugin at version 2, the same events on disk (their bytes are never rewritten).
    (plugins / "rocket_landed.py").write_text(LANDED_V2.read_text())
    with TestClient(create_app(Settings(plugins_dir=str(plugins), store=store))) as client:
        assert client.get("/rockets/r").json() == before  # rebuilt from v1 events, upcast
        assert client.get("/rockets/r?at=2").json()["status"] == "landed"
        events = client.get("/rockets/r/events").json()
        assert events[1]["message"] == {"landingSite": "LZ-1", "pad": None}  # in version 2
        assert projection_at(client, "missions", 2)["events"] == {"LUNA": 2}
        # A version 2 message, and a resend of the stored one in version 2: a duplicate.
        resend = message("r", 2, "RocketLanded", {"landingSite": "LZ-1"})
        assert client.post("/messages", json=resend).json()["status"] == "duplicate"
        other = message("r", 2, "RocketLanded", {"landingSite": "LZ-2"})
        refused = client.post("/messages", json=other)
        assert refused.status_code == 409
        conflict = refused.json()["conflict"]  # the kept one told in version 2 as well
        assert conflict["existing"]["message"] == {"landingSite": "LZ-1", "pad": None}
        report = client.get("/plugins").json()
        versions = {t["name"]: t["version"] for t in report["messageTypes"]}
        assert versions["RocketLanded"] == 2
        assert versions["RocketLaunched"] == 1
    import sqlite3

    with sqlite3.connect(tmp_path / "rockets.db") as db:
        kept = db.execute("SELECT payload, version FROM messages WHERE number = 2").fetchone()
    assert kept == (b'{"site":"LZ-1"}', 1)


class P(msgspec.Struct):
    n: int = 0


class Touchdown(msgspec.Struct):
    touchdown_speed: int = 0


class Port(msgspec.Struct):
    port_name: str = ""


class Docked(msgspec.Struct, rename="camel"):
    docks: list[Port] = []


def first(*args: Any) -> Any:
    return args[0]


class Types:
    """A plugin whose register_event_types returns what ``offer`` makes."""

    def __init__(self, offer: Callable[[], Any]) -> None:
        self.offer = offer

    @hookimpl
    def register_event_types(self) -> Any:
        return self.offer()


@pytest.mark.parametrize(
    ("event_type", "complaint"),
    [
        (
            lambda: EventType(schema=P, apply=first, version=2),
            r"needs an upcaster for each version below it \(\[1\]\)",
        ),
        (lambda: EventType(schema=P, apply=first, version=0), "versions start at 1"),
        (
            lambda: EventType(schema=P, apply=first, version=2, upcasters={1: first, 2: first}),
            r"got \[1, 2\]",
        ),
        (
            lambda: EventType(schema=Touchdown, apply=first),
            r"'touchdown_speed' \(should be 'touchdownSpeed'\)",
        ),
        (
            lambda: EventType(schema=Docked, apply=first),
            r"Port: .*'port_name' \(should be 'portName'\).*\(in Docked.docks\)",
        ),
    ],
)
def test_versions_upcasters_and_names_are_checked_at_start(
    event_type: Callable[[], Any], complaint: str
) -> None:
    with pytest.raises(PluginError, match=complaint):
        create_app(Settings(), plugins=[Types(lambda: [event_type()])])


class SnakeState(RocketState, frozen=True, kw_only=True, rename=None):
    last_site: str | None = None


def test_state_fields_follow_the_naming_rule() -> None:
    with pytest.raises(PluginError, match=r"'last_site' \(should be 'lastSite'\)"):
        create_app(Settings(), plugins=[StateFields(SnakeState)])


def stored_landing(tmp_path: Path, plugin: Path) -> str:
    """A SQLite store holding a RocketLanded of ``plugin``'s version."""
    store = f"sqlite:///{tmp_path}/rockets.db"
    with TestClient(
        create_app(Settings(store=store), plugins=[import_plugin_file(plugin)])
    ) as client:
        assert client.post("/messages", json=launched("r", 1, "LUNA")).status_code == 202
        site = "landingSite" if plugin == LANDED_V2 else "site"
        landed = message("r", 2, "RocketLanded", {site: "LZ-1"})
        assert client.post("/messages", json=landed).status_code == 202
    return store


def broken_upcaster(payload: dict[str, Any]) -> dict[str, Any]:
    raise ValueError("bad old")


@pytest.mark.parametrize(
    ("plugin", "then", "complaint"),
    [
        (LANDED_V1, None, "event r#2 is a RocketLanded, which no loaded plugin registers"),
        (
            LANDED_V2,
            LANDED_V1,
            r"event r#2 \(RocketLanded, payload version 2\) cannot be read by plugin "
            r"'rocket_landed': PluginError: .*knows version 1 at most",
        ),
        (
            LANDED_V1,
            "broken",
            r"event r#2 \(RocketLanded, payload version 1\) cannot be read by plugin "
            r"'rocket_landed': ValueError: bad old",
        ),
    ],
)
def test_a_stored_event_the_plugins_cannot_read_stops_the_start_in_one_sentence(
    tmp_path: Path, plugin: Path, then: Path | str | None, complaint: str
) -> None:
    # Its plugin not loaded, a newer version than the plugin knows, an upcaster that fails.
    store = stored_landing(tmp_path, plugin)
    plugins: list[object] = []
    if then == "broken":
        broken = import_plugin_file(LANDED_V2)
        broken.from_version_1 = broken_upcaster  # what register_event_types hands over
        plugins.append(broken)
    elif isinstance(then, Path):
        plugins.append(import_plugin_file(then))
    service = build_service(Settings(store=store), plugins=plugins)
    with pytest.raises(UnreadableEventError, match=complaint):
        asyncio.run(service.start())
