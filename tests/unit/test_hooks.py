"""Every hook of the plugin contract, exercised through a real app with real plugin files.

The meta-tests at the end hold the line: each hookspec has a test here named after it and a
section in docs/plugin_hooks.md headed by its exact signature.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from litestar.testing import TestClient

from rockets import hookspecs
from rockets.app import build_service, create_app, load_plugins
from rockets.errors import PluginError, UnreadableEventError
from rockets.launch import find_scenario
from rockets.settings import Settings

from ..conftest import ROOT, message

EXAMPLES = ROOT / "docs" / "examples"
Client = TestClient[Any]


def app_with(*files: Path, tmp_path: Path, **settings: Any) -> Any:
    """An app loading the given plugin files as drop-ins."""
    for file in files:
        (tmp_path / file.name).write_text(file.read_text())
    return create_app(Settings(plugins_dir=str(tmp_path), **settings))


def dropin(name: str) -> ModuleType:
    return sys.modules[f"rockets_dropin_{name}"]


LAUNCH = {"type": "Falcon-9", "launchSpeed": 100, "mission": "M"}


# --- register_event_types --------------------------------------------------------------------


COUNTED = """
import msgspec
from rockets import EventType, hookimpl

decoded = []
seen = []


class RocketPinged(msgspec.Struct, frozen=True):
    level: int

    def __post_init__(self):
        decoded.append(self.level)  # msgspec runs this on every decode


def apply(state, event):
    seen.append(("apply", event.message.level))
    return state


@hookimpl
def register_event_types():
    return [EventType(schema=RocketPinged, apply=apply)]


@hookimpl
def validate_message(event):
    seen.append(("validate", event.message.level))


@hookimpl
def event_applied(event, state):
    seen.append(("applied", event.message.level))
"""


def test_a_payload_is_decoded_once_for_validators_apply_and_listeners(tmp_path: Path) -> None:
    (tmp_path / "counted.py").write_text(COUNTED)
    with TestClient(create_app(Settings(plugins_dir=str(tmp_path)))) as client:
        assert (
            client.post("/messages", json=message("p", 2, "RocketPinged", {"level": 2})).status_code
            == 202
        )
        assert (
            client.post("/messages", json=message("p", 1, "RocketPinged", {"level": 1})).status_code
            == 202
        )
        counted = dropin("counted")
        # Message 2 waited behind the gap; it was applied and heard once message 1 came.
        assert counted.seen == [
            ("validate", 2),
            ("validate", 1),
            ("apply", 1),
            ("apply", 2),
            ("applied", 1),
            ("applied", 2),
        ]
        assert sorted(counted.decoded) == [1, 2]
        # Reading events back from the store decodes nothing; only a replay decodes again.
        assert client.get("/rockets/p/events").status_code == 200
        assert sorted(counted.decoded) == [1, 2]


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
    with TestClient(create_app(Settings())) as client:
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
    with TestClient(create_app(settings)) as client:
        fuel_up(client, "a", 42)
    with TestClient(create_app(settings)) as client:
        assert client.get("/rockets/a").json()["fuel"] == 42


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (
            "class S(RocketState, frozen=True, kw_only=True):\n    speed: float = 0.0",
            "redefines the built-in state field 'speed'",
        ),
        (
            "class S(RocketState, frozen=True, kw_only=True):\n    fuel: int = 1",
            "state field 'fuel' is added twice",
        ),
        (
            "class S(RocketState, frozen=True, kw_only=True):\n    limit: int = 0",
            "named like a query parameter",
        ),
        ("class S(RocketState, frozen=True, kw_only=True):\n    altitude: int", "needs a default"),
        ("S = dict", "must return a subclass of RocketState"),
    ],
)
def test_hook_extend_rocket_state_mistakes_stop_startup(
    tmp_path: Path, body: str, complaint: str
) -> None:
    (tmp_path / "bad_state.py").write_text(
        "from rockets import RocketState, hookimpl\n"
        f"{body}\n\n@hookimpl\ndef extend_rocket_state():\n    return S\n"
    )
    with pytest.raises(PluginError, match=re.escape(complaint)):
        create_app(Settings(plugins_dir=str(tmp_path)))


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


def test_hook_validate_message_that_fails_is_a_500_and_stores_nothing(tmp_path: Path) -> None:
    (tmp_path / "broken_rule.py").write_text(
        "from rockets import hookimpl\n\n@hookimpl\ndef validate_message(event):\n    return 1 / 0\n"
    )
    with TestClient(create_app(Settings(plugins_dir=str(tmp_path)))) as client:
        response = client.post("/messages", json=message("r", 1, "RocketLaunched", LAUNCH))
        assert response.status_code == 500
        assert response.json()["detail"] == "internal error; see the server log"
        assert "ZeroDivisionError" not in response.text
        assert client.get("/rockets/r").status_code == 404


# --- event_applied, register_routes, startup, shutdown -----------------------------------------


@pytest.fixture
def logged(tmp_path: Path) -> Iterator[Client]:
    app = app_with(EXAMPLES / "hooks" / "flight_log.py", tmp_path=tmp_path)
    with TestClient(app) as client:
        yield client


def test_hook_event_applied_hears_each_stored_event_once(logged: Client) -> None:
    logged.post("/messages", json=message("r", 3, "RocketSpeedIncreased", {"by": 50}))
    assert dropin("flight_log").counts == {}  # waiting behind a gap: not applied yet
    logged.post(
        "/messages",
        json=[
            message("r", 1, "RocketLaunched", LAUNCH),
            message("r", 2, "RocketSpeedDecreased", {"by": 30}),
        ],
    )
    logged.post("/messages", json=message("r", 1, "RocketLaunched", LAUNCH))  # a duplicate
    assert dropin("flight_log").counts == {
        "RocketLaunched": 1,
        "RocketSpeedDecreased": 1,
        "RocketSpeedIncreased": 1,
    }
    assert dropin("flight_log").fastest == {"r": 120}


def test_hook_event_applied_failures_change_nothing(tmp_path: Path) -> None:
    (tmp_path / "a_broken_listener.py").write_text(
        "from rockets import hookimpl\n\n@hookimpl\ndef event_applied(event, state):\n    raise RuntimeError('listener bug')\n"
    )
    app = app_with(EXAMPLES / "hooks" / "flight_log.py", tmp_path=tmp_path)
    with TestClient(app) as client:
        assert (
            client.post("/messages", json=message("r", 1, "RocketLaunched", LAUNCH)).status_code
            == 202
        )
        assert client.get("/rockets/r").json()["speed"] == 100
        assert dropin("flight_log").counts == {"RocketLaunched": 1}  # the other listener heard it
        assert app.service.hooks.listener_failures == 1


def test_hook_register_routes_serves_the_plugins_route(logged: Client) -> None:
    logged.post("/messages", json=message("r", 1, "RocketLaunched", LAUNCH))
    assert logged.get("/flight-log").json() == {
        "events": {"RocketLaunched": 1},
        "topSpeeds": {"r": 100},
    }
    assert "/flight-log" in logged.get("/schema/openapi.json").json()["paths"]
    assert logged.get("/flight-log/nope").json()["error"] == "not_found"


def test_hook_register_routes_collision_stops_startup(tmp_path: Path) -> None:
    (tmp_path / "squatter.py").write_text(
        "from litestar import get\nfrom rockets import hookimpl\n\n"
        "@get('/health')\nasync def mine() -> str:\n    return 'mine'\n\n"
        "@hookimpl\ndef register_routes(view):\n    return [mine]\n"
    )
    with pytest.raises(PluginError, match="routes do not fit together"):
        create_app(Settings(plugins_dir=str(tmp_path)))


def test_hook_startup_and_shutdown_run_around_the_service(tmp_path: Path) -> None:
    app = app_with(EXAMPLES / "hooks" / "flight_log.py", tmp_path=tmp_path)
    log = dropin("flight_log").lifecycle
    assert log == []
    with TestClient(app) as client:
        assert log == ["started with 5 message types"] or log[0].startswith("started with")
        client.post("/messages", json=message("r", 1, "RocketLaunched", LAUNCH))
    assert log[-1] == "stopped after 1 events"


def test_hook_startup_failure_stops_the_start(tmp_path: Path) -> None:
    (tmp_path / "refuses.py").write_text(
        "from rockets import hookimpl\n\n@hookimpl\nasync def startup(view):\n    raise RuntimeError('not today')\n"
    )
    app = create_app(Settings(plugins_dir=str(tmp_path)))
    with pytest.raises(BaseExceptionGroup) as failure, TestClient(app):
        pass
    assert failure.group_contains(
        PluginError, match=r"plugin 'refuses' failed in startup: RuntimeError\('not today'\)"
    )


def test_hook_shutdown_failure_does_not_stop_the_others(tmp_path: Path) -> None:
    (tmp_path / "a_bad_goodbye.py").write_text(
        "from rockets import hookimpl\n\n@hookimpl\ndef shutdown(view):\n    raise RuntimeError('bye')\n"
    )
    app = app_with(EXAMPLES / "hooks" / "flight_log.py", tmp_path=tmp_path)
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


def test_hook_register_projections_that_fails_is_stopped_not_the_ingest(tmp_path: Path) -> None:
    (tmp_path / "fragile.py").write_text(
        "import msgspec\nfrom rockets import ProjectionType, hookimpl\n\n"
        "class Seen(msgspec.Struct):\n    n: int = 0\n\n"
        "def apply(value, event, state):\n"
        "    if state.channel == 'bad':\n        raise ValueError('no bad rockets')\n"
        "    return Seen(value.n + 1)\n\n"
        "@hookimpl\ndef register_projections():\n"
        "    return [ProjectionType(name='seen', initial=Seen(), apply=apply)]\n"
    )
    with TestClient(create_app(Settings(plugins_dir=str(tmp_path)))) as client:
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


@pytest.mark.parametrize(
    ("returned", "complaint"),
    [
        ("[42]", "must return ProjectionType records"),
        ("[ProjectionType(name='Bad Name', initial=V(), apply=f)]", "lower case letters"),
        ("[ProjectionType(name='v', initial={}, apply=f)]", "must be a msgspec Struct"),
        ("[ProjectionType(name='v', initial=V(), apply=None)]", "needs a callable apply"),
        ("[ProjectionType(name='v', initial=V(), apply=f, version=0)]", "versions start at 1"),
        ("[ProjectionType(name='fleet', initial=V(), apply=f)]", "registered twice"),
        ("[ProjectionType(name='v', initial=Snake(), apply=f)]", r"'dock_count' \(should be"),
        (
            "[ProjectionType(name='v', initial=V(), apply=f, serve=to_snake)]",
            r"Snake: .*'dock_count'",
        ),
        (
            "[ProjectionType(name='v', initial=V(), apply=f, serve=lambda v: v)]",
            "serve needs a return annotation",
        ),
    ],
)
def test_hook_register_projections_refuses_what_cannot_run(
    tmp_path: Path, returned: str, complaint: str
) -> None:
    (tmp_path / "odd.py").write_text(
        "import msgspec\nfrom rockets import ProjectionType, hookimpl\n\n"
        "class V(msgspec.Struct):\n    n: int = 0\n\n"
        "class Snake(msgspec.Struct):\n    dock_count: int = 0\n\n"
        "def f(value, event, state):\n    return value\n\n"
        "def to_snake(value: V) -> list[Snake]:\n    return []\n\n"
        f"@hookimpl\ndef register_projections():\n    return {returned}\n"
    )
    with pytest.raises(PluginError, match=complaint):
        create_app(Settings(plugins_dir=str(tmp_path)))


# --- register_launch_scenarios ---------------------------------------------------------------


def test_hook_register_launch_scenarios_offers_traffic(tmp_path: Path) -> None:
    (tmp_path / "quiet.py").write_text(
        "import msgspec\nfrom rockets import Planned, RocketState, Scenario, hookimpl\n\n"
        "def invent(rng, length):\n    return [Planned('RocketExploded', {'reason': 'x'})] * length\n\n"
        "def expect(channel, life):\n    return RocketState(channel=channel, status='exploded', reason='x', last_message_number=len(life))\n\n"
        "@hookimpl\ndef register_launch_scenarios():\n    return [Scenario(name='quiet', invent=invent, expect=expect)]\n"
    )
    offered = load_plugins(Settings(plugins_dir=str(tmp_path))).launch_scenarios()
    scenario = find_scenario(offered, "quiet")
    assert [p.message_type for p in scenario.invent(__import__("random").Random(1), 2)] == [
        "RocketExploded"
    ] * 2
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


@pytest.mark.parametrize(
    ("event_type", "complaint"),
    [
        (
            "EventType(schema=P, apply=f, version=2)",
            r"needs an upcaster for each version below it \(\[1\]\)",
        ),
        ("EventType(schema=P, apply=f, version=0)", "versions start at 1"),
        ("EventType(schema=P, apply=f, version=2, upcasters={1: f, 2: f})", r"got \[1, 2\]"),
        ("EventType(schema=Snake, apply=f)", r"'touchdown_speed' \(should be 'touchdownSpeed'\)"),
        (
            "EventType(schema=Docked, apply=f)",
            r"Port: .*'port_name' \(should be 'portName'\).*\(in Docked.docks\)",
        ),
    ],
)
def test_versions_upcasters_and_names_are_checked_at_start(
    tmp_path: Path, event_type: str, complaint: str
) -> None:
    (tmp_path / "odd.py").write_text(
        "import msgspec\nfrom rockets import EventType, hookimpl\n\n"
        "class P(msgspec.Struct):\n    n: int = 0\n\n"
        "class Snake(msgspec.Struct):\n    touchdown_speed: int = 0\n\n"
        "class Port(msgspec.Struct):\n    port_name: str = ''\n\n"
        "class Docked(msgspec.Struct, rename='camel'):\n    docks: list[Port] = []\n\n"
        "def f(*args):\n    return args[0]\n\n"
        f"@hookimpl\ndef register_event_types():\n    return [{event_type}]\n"
    )
    with pytest.raises(PluginError, match=complaint):
        create_app(Settings(plugins_dir=str(tmp_path)))


def test_state_fields_follow_the_naming_rule(tmp_path: Path) -> None:
    (tmp_path / "snake.py").write_text(
        "from rockets import RocketState, hookimpl\n\n"
        "class Snake(RocketState, frozen=True, kw_only=True, rename=None):\n"
        "    last_site: str | None = None\n\n"
        "@hookimpl\ndef extend_rocket_state():\n    return Snake\n"
    )
    with pytest.raises(PluginError, match=r"'last_site' \(should be 'lastSite'\)"):
        create_app(Settings(plugins_dir=str(tmp_path)))


def stored_landing(tmp_path: Path, plugin: Path) -> tuple[str, Path]:
    """A SQLite store holding a RocketLanded of ``plugin``'s version, and the plugin folder."""
    store = f"sqlite:///{tmp_path}/rockets.db"
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    with TestClient(app_with(plugin, tmp_path=plugins, store=store)) as client:
        assert client.post("/messages", json=launched("r", 1, "LUNA")).status_code == 202
        site = "landingSite" if plugin == LANDED_V2 else "site"
        landed = message("r", 2, "RocketLanded", {site: "LZ-1"})
        assert client.post("/messages", json=landed).status_code == 202
    return store, plugins


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
    store, plugins = stored_landing(tmp_path, plugin)
    dropped = plugins / "rocket_landed.py"
    if then is None:
        dropped.unlink()
    elif then == "broken":
        upcaster = 'return {"landingSite": payload["site"]}'
        assert upcaster in LANDED_V2.read_text()
        dropped.write_text(LANDED_V2.read_text().replace(upcaster, 'raise ValueError("bad old")'))
    else:
        assert isinstance(then, Path)
        dropped.write_text(then.read_text())
    service = build_service(Settings(plugins_dir=str(plugins), store=store))
    with pytest.raises(UnreadableEventError, match=complaint):
        asyncio.run(service.start())
