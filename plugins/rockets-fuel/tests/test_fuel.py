"""The plugin's own tests: a real app, the plugin loaded through its entry point."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from rockets_fuel import FuelState, RocketFuelBurned, RocketRefueled

from rockets.app import create_app
from rockets.client import RocketsClient
from rockets.settings import Settings


@pytest.fixture
def client() -> Iterator[TestClient[Any]]:
    with TestClient(create_app(Settings())) as test_client:
        yield test_client


def test_loaded_through_its_entry_point(client: TestClient[Any]) -> None:
    plugins = {p["name"]: p for p in client.get("/plugins").json()["plugins"]}
    assert plugins["fuel"]["source"] == "entrypoint"
    assert plugins["fuel"]["distribution"] == "rockets-fuel"
    assert plugins["fuel"]["messageTypes"] == ["RocketFuelBurned", "RocketRefueled"]
    assert plugins["fuel"]["stateFields"] == ["fuel"]


def test_fuel_goes_up_and_down_but_not_below_zero(client: TestClient[Any]) -> None:
    sdk: RocketsClient[FuelState] = RocketsClient(http=client, state_type=FuelState)
    launch = {"type": "Falcon-9", "launchSpeed": 10, "mission": "M"}
    sdk.send(launch, message_type="RocketLaunched", channel="f", number=1)
    sdk.send(RocketRefueled(amount=500), channel="f", number=2)
    sdk.send(RocketFuelBurned(amount=120), channel="f", number=3)
    assert sdk.rocket("f").fuel == 380
    sdk.send(RocketFuelBurned(amount=1000), channel="f", number=4)
    assert sdk.rocket("f").fuel == 0
    assert sdk.rocket("f", at=3).fuel == 380


def test_an_exploded_rocket_keeps_its_fuel(client: TestClient[Any]) -> None:
    sdk = RocketsClient(http=client, state_type=FuelState)
    sdk.send(RocketRefueled(amount=50), channel="x", number=1)
    sdk.send({"reason": "boom"}, message_type="RocketExploded", channel="x", number=2)
    sdk.send(RocketRefueled(amount=50), channel="x", number=3)
    assert sdk.rocket("x").fuel == 50


def test_a_negative_amount_is_refused(client: TestClient[Any]) -> None:
    body = {"metadata": {"messageType": "RocketRefueled"}, "message": {"amount": -1}}
    response = client.post("/messages", json=body)
    assert response.status_code == 400
    assert response.json()["path"] == "$.message.amount"
