"""How a plugin author tests a message type: a real app, the plugin loaded from its file."""

from __future__ import annotations

from pathlib import Path

from litestar.testing import TestClient

from rockets.app import create_app
from rockets.settings import Settings

PLUGINS = Path(__file__).parent / "plugins"


def post(client: TestClient, number: int, kind: str, message: dict) -> None:  # type: ignore[type-arg]
    metadata = {"channel": "demo", "messageNumber": number, "messageType": kind}
    response = client.post("/messages", json={"metadata": metadata, "message": message})
    assert response.status_code == 202, response.text


def test_a_flying_rocket_lands() -> None:
    with TestClient(create_app(Settings(plugins_dir=str(PLUGINS)))) as client:
        post(client, 1, "RocketLaunched", {"type": "Falcon-9", "launchSpeed": 900, "mission": "X"})
        post(client, 2, "RocketLanded", {"site": "LZ-1"})
        rocket = client.get("/rockets/demo").json()
    assert rocket["status"] == "landed"
    assert rocket["speed"] == 0
