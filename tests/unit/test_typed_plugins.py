"""Typed plugin logic (issue 21, item 8): a projection's handlers per message type, each
receiving its own payload's event, dispatched by the registry; an upcaster declared from the old
payload's Struct, which decodes the stored payload strictly and fails on the first event it
cannot read, naming the plugin and the version."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rockets.app import create_app, load_plugins
from rockets.core.aggregate import event_of
from rockets.errors import PluginError, UnreadableEventError
from rockets.records import Record
from rockets.settings import Settings

from ..conftest import ROOT, core_settings, message

EXAMPLES = ROOT / "docs" / "examples"
LANDED_V1 = EXAMPLES / "plugins" / "rocket_landed.py"
LANDED_TYPED = EXAMPLES / "plugins" / "v2_typed" / "rocket_landed.py"
STRAY = ROOT / "tests" / "plugins" / "guards" / "stray_handlers.py"
Client = TestClient[Any]


def launched(channel: str, kind: str) -> dict[str, Any]:
    payload = {"type": kind, "launchSpeed": 1, "mission": "M"}
    return message(channel, 1, "RocketLaunched", payload)


def projection_at(client: Client, name: str, position: int) -> Any:
    """The projection once it has taken in the log up to ``position`` (it follows the log)."""
    while True:
        answer = client.get(f"/projections/{name}")
        assert answer.status_code == 200, answer.text
        if int(answer.headers["x-position"]) >= position:
            return answer.json()


# --- a projection's handlers per message type ------------------------------------------------


def test_a_projections_handlers_get_the_events_of_their_type(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "projections" / "launches.py", tmp_path)
    with TestClient(create_app(core_settings(plugins_dir=str(tmp_path)))) as client:
        for channel, kind in (("a", "Falcon-9"), ("b", "Falcon-9"), ("c", "Soyuz")):
            assert client.post("/messages", json=launched(channel, kind)).status_code == 202
        # Types without a handler leave the value as it is.
        faster = message("a", 2, "RocketSpeedIncreased", {"by": 10})
        assert client.post("/messages", json=faster).status_code == 202
        boom = message("c", 2, "RocketExploded", {"reason": "PRESSURE_VESSEL_FAILURE"})
        assert client.post("/messages", json=boom).status_code == 202
        assert projection_at(client, "launches", 5) == {
            "launched": {"Falcon-9": 2, "Soyuz": 1},
            "exploded": {"Soyuz": 1},
        }
        (listed,) = [p for p in client.get("/projections").json() if p["name"] == "launches"]
        assert listed["status"] == "running"


@pytest.mark.parametrize(
    ("stray", "complaint"),
    [
        (
            "unregistered",
            "plugin 'stray_handlers': projection 'seen' has a handler for 'RocketDocked', which "
            "no loaded plugin registers",
        ),
        (
            "lookalike",
            "plugin 'stray_handlers': projection 'seen': the handler for 'RocketLaunched' is "
            "keyed by RocketLaunched of rockets_dropin_stray_handlers, not the schema plugin "
            "'rocket_launched' registers",
        ),
        ("none", "plugin 'stray_handlers': projection 'seen' needs an apply or handlers"),
    ],
)
def test_a_handler_that_cannot_be_dispatched_stops_the_start_in_one_line(
    tmp_path: Path, stray: str, complaint: str
) -> None:
    source = STRAY.read_text().replace('STRAY = "unregistered"', f"STRAY = {stray!r}")
    (tmp_path / "stray_handlers.py").write_text(source)
    with pytest.raises(PluginError) as refused:
        create_app(core_settings(plugins_dir=str(tmp_path)))
    assert str(refused.value) == complaint


# --- upcasters from the old payload's Struct --------------------------------------------------


def stored_v1(tmp_path: Path) -> tuple[str, Path]:
    """A SQLite store holding a rocket landed in version 1 of RocketLanded, and its plugins."""
    store = f"sqlite:///{tmp_path}/rockets.db"
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    shutil.copy(LANDED_V1, plugins / "rocket_landed.py")
    with TestClient(create_app(core_settings(plugins_dir=str(plugins), store=store))) as client:
        assert client.post("/messages", json=launched("r", "Falcon-9")).status_code == 202
        landed = message("r", 2, "RocketLanded", {"site": "LZ-1"})
        assert client.post("/messages", json=landed).status_code == 202
    return store, plugins


def test_a_struct_upcaster_brings_old_events_up_to_date(tmp_path: Path) -> None:
    store, plugins = stored_v1(tmp_path)
    shutil.copy(LANDED_TYPED, plugins / "rocket_landed.py")
    with TestClient(create_app(core_settings(plugins_dir=str(plugins), store=store))) as client:
        assert client.get("/rockets/r").json()["status"] == "landed"
        events = client.get("/rockets/r/events").json()
        assert events[1]["message"] == {"landingSite": "LZ-1", "pad": None}
        resend = message("r", 2, "RocketLanded", {"landingSite": "LZ-1"})
        assert client.post("/messages", json=resend).json()["status"] == "duplicate"


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        # Declared from the wrong Struct: version 1 wrote a string.
        (
            ("    site: str\n", "    site: int\n"),
            "PluginError: the upcaster of RocketLanded from version 1: the stored payload does "
            "not fit RocketLandedV1: Expected `int`, got `str` - at `$.site`",
        ),
        # Returning something else than the next version's Struct.
        (
            ("return RocketLanded(landing_site=old.site)", "return old  # type: ignore"),
            "PluginError: the upcaster of RocketLanded from version 1 returned a RocketLandedV1, "
            "not a RocketLanded (version 2)",
        ),
    ],
)
def test_a_wrong_struct_upcaster_fails_on_the_first_event_naming_plugin_and_version(
    tmp_path: Path, change: tuple[str, str], complaint: str
) -> None:
    # Every reader of the log (a replay, ?at=N, /events, a projection) reads an event so.
    store, plugins = stored_v1(tmp_path)
    with sqlite3.connect(tmp_path / "rockets.db") as db:
        payload, version = db.execute(
            "SELECT payload, version FROM messages WHERE number = 2"
        ).fetchone()
    stored = Record(
        channel="r",
        message_number=2,
        message_type="RocketLanded",
        message_time=datetime.now(UTC),
        received_at=datetime.now(UTC),
        payload=payload,
        version=version,
    )
    source = LANDED_TYPED.read_text()
    assert change[0] in source
    (plugins / "rocket_landed.py").write_text(source.replace(*change))
    registry = load_plugins(core_settings(plugins_dir=str(plugins), store=store)).registry()
    with pytest.raises(UnreadableEventError) as refused:
        event_of(registry, stored)
    assert str(refused.value) == (
        "event r#2 (RocketLanded, payload version 1) cannot be read by plugin 'rocket_landed': "
        + complaint
    )
    (plugins / "rocket_landed.py").write_text(source)
    registry = load_plugins(core_settings(plugins_dir=str(plugins), store=store)).registry()
    assert event_of(registry, stored).message == registry["RocketLanded"].event_type.schema(
        landing_site="LZ-1"
    )


def test_an_upcaster_pair_must_name_a_struct(tmp_path: Path) -> None:
    source = LANDED_TYPED.read_text().replace(
        "upcasters={1: (RocketLandedV1, from_version_1)}", "upcasters={1: (dict, from_version_1)}"
    )
    (tmp_path / "rocket_landed.py").write_text(source)
    with pytest.raises(PluginError, match="from version 1 must name the msgspec Struct"):
        create_app(Settings(plugins_dir=str(tmp_path)))
