"""A third-party message type arrives as a drop-in file, with no change to rockets/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from rockets.app import create_app

from ..conftest import ROOT, core_settings

EXAMPLES = ROOT / "docs" / "examples" / "plugins"
STANDARD = [
    "RocketLaunched",
    "RocketSpeedIncreased",
    "RocketSpeedDecreased",
    "RocketMissionChanged",
    "RocketExploded",
]


@pytest.fixture
def client() -> Iterator[TestClient[Any]]:
    with TestClient(create_app(core_settings(plugins_dir=str(EXAMPLES)))) as test_client:
        yield test_client


def post(client: TestClient[Any], number: int, kind: str, payload: dict[str, Any]) -> int:
    body = {
        "metadata": {"channel": "lander", "messageNumber": number, "messageType": kind},
        "message": payload,
    }
    return client.post("/messages", json=body).status_code


def test_drop_in_type_is_accepted_and_applied(client: TestClient[Any]) -> None:
    assert post(client, 2, "RocketLanded", {"site": "LZ-1"}) == 202
    assert (
        post(client, 1, "RocketLaunched", {"type": "F9", "launchSpeed": 900, "mission": "M"}) == 202
    )
    rocket = client.get("/rockets/lander").json()
    assert (rocket["status"], rocket["speed"], rocket["lastMessageNumber"]) == ("landed", 0, 2)
    events = client.get("/rockets/lander/events").json()
    assert events[1]["message"] == {"site": "LZ-1"}
    assert client.get("/rockets/lander?at=1").json()["status"] == "flying"


def test_drop_in_payload_is_validated(client: TestClient[Any]) -> None:
    response = client.post(
        "/messages",
        json={"metadata": {"channel": "x", "messageType": "RocketLanded"}, "message": {"site": 5}},
    )
    assert response.status_code == 400
    assert response.json()["path"] == "$.message.site"


def test_drop_in_payload_appears_in_openapi(client: TestClient[Any]) -> None:
    schema = client.get("/schema/openapi.json").json()
    body = schema["paths"]["/messages"]["post"]["requestBody"]["content"]["application/json"]
    single, batch = body["schema"]["oneOf"]
    by_type = {
        env["properties"]["metadata"]["properties"]["messageType"]["enum"][0]: env
        for env in single["oneOf"]
    }
    assert set(by_type) == {*STANDARD, "RocketLanded"}
    landed = by_type["RocketLanded"]["properties"]["message"]
    assert landed["properties"]["site"] == {"type": "string"}
    assert landed["required"] == ["site"]
    assert len(batch["items"]["oneOf"]) == 6


def test_without_the_directory_the_type_is_unknown() -> None:
    with TestClient(create_app(core_settings())) as client:
        assert post(client, 1, "RocketLanded", {"site": "LZ-1"}) == 400


def test_core_names_no_standard_message_type() -> None:
    pattern = re.compile("|".join(STANDARD))
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "rockets").rglob("*"))
        if path.is_file()
        and path.suffix in {".py", ".html", ".js", ".json", ".toml", ".txt"}
        and pattern.search(path.read_text())
    ]
    assert offenders == []
