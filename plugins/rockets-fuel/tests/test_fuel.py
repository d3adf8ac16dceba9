"""The plugin's own tests, with rockets' test kit: an app serving the plugin (``conftest.py`` names
it) and the SDK's client bound to it, in process; a real server for a restart."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, assert_type

import httpx
import pytest
import rockets_fuel.plugin
from litestar.testing import TestClient
from rockets_fuel import FuelState, RocketFuelBurned, RocketRefueled
from rockets_standard.messages import RocketExploded, RocketLaunched

from rockets import RocketState, fields
from rockets.app import RocketsApp
from rockets.client import AsyncRocketsClient, BadRequestError, RocketsClient
from rockets.testing import Servers

LAUNCH = RocketLaunched(type="Falcon-9", launch_speed=10, mission="M")


def fuel(rocket: RocketState) -> int:
    """The plugin's field, typed: the state is the app's, which holds every plugin's fields."""
    return fields(rocket, FuelState).fuel


def test_its_entry_point_names_the_module_the_kit_loads() -> None:
    # Installed, the package is found by this entry point; here the kit's fixtures load the
    # module itself (conftest.py), importable without installing the package.
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert pyproject["project"]["entry-points"]["rockets"] == {"fuel": rockets_fuel.plugin.__name__}


def test_the_app_offers_its_types_and_its_field(rockets_http: TestClient[RocketsApp]) -> None:
    plugins = {p["name"]: p for p in rockets_http.get("/plugins").json()["plugins"]}
    plugin = plugins[rockets_fuel.plugin.__name__]
    assert plugin["messageTypes"] == ["RocketFuelBurned", "RocketRefueled"]
    assert plugin["stateFields"] == ["fuel"]


def test_fuel_goes_up_and_down_but_not_below_zero(rockets_client: RocketsClient) -> None:
    rockets_client.send(LAUNCH, channel="f", number=1)
    rockets_client.send(RocketRefueled(amount=500), channel="f", number=2)
    rockets_client.send(RocketFuelBurned(amount=120), channel="f", number=3)
    assert_type(fields(rockets_client.rocket("f"), FuelState).fuel, int)
    assert fuel(rockets_client.rocket("f")) == 380
    rockets_client.send(RocketFuelBurned(amount=1000), channel="f", number=4)
    assert fuel(rockets_client.rocket("f")) == 0
    assert fuel(rockets_client.rocket("f", at=3)) == 380


def test_an_exploded_rocket_keeps_its_fuel(rockets_client: RocketsClient) -> None:
    rockets_client.send(RocketRefueled(amount=50), channel="x", number=1)
    rockets_client.send(RocketExploded(reason="boom"), channel="x", number=2)
    rockets_client.send(RocketRefueled(amount=50), channel="x", number=3)
    assert fuel(rockets_client.rocket("x")) == 50


def test_a_negative_amount_is_refused(rockets_client: RocketsClient) -> None:
    with pytest.raises(BadRequestError) as refused:
        rockets_client.send({"amount": -1}, message_type="RocketRefueled", channel="n")
    assert refused.value.path == "$.message.amount"


def test_rockets_sort_and_filter_on_fuel(rockets_client: RocketsClient) -> None:
    for channel, amount in (("a", 30), ("b", 10), ("c", 20)):
        rockets_client.send(RocketRefueled(amount=amount), channel=channel, number=1)
    by_fuel = rockets_client.rockets(sort="fuel", order="desc")
    assert [rocket.channel for rocket in by_fuel.items] == ["a", "c", "b"]
    assert [r.channel for r in rockets_client.rockets(where={"fuel": 20}).items] == ["c"]


@pytest.mark.anyio
async def test_fuel_through_the_async_client(rockets_async_client: AsyncRocketsClient) -> None:
    await rockets_async_client.send(RocketRefueled(amount=7), channel="a", number=1)
    events = await rockets_async_client.events("a")
    payload = rockets_async_client.payload(events.items[0])
    assert payload == RocketRefueled(amount=7)  # decoded into the plugin's Struct
    assert fuel(await rockets_async_client.rocket("a")) == 7


def test_fuel_survives_a_restart(rockets_server: Servers, rockets_sqlite_url: str) -> None:
    # A real `rockets serve` process, loading the plugin too, on a SQLite file.
    server = rockets_server(rockets_sqlite_url)
    with RocketsClient(server.url, state_type=FuelState) as client:
        client.send(RocketRefueled(amount=42), channel="kept", number=1)
    code, printed = server.stop()  # SIGTERM: a clean stop
    assert code == 0, printed
    again = rockets_server(rockets_sqlite_url)
    with RocketsClient(again.url, state_type=FuelState) as client:
        assert client.rocket("kept").fuel == 42
    plugins: Any = httpx.get(f"{again.url}/plugins").json()["plugins"]
    assert {p["name"] for p in plugins} >= {"rockets_fuel.plugin", "rocket_launched"}
