"""PostgreSQL failing under the real server: input PostgreSQL cannot take."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from rockets.app import create_app

from ..conftest import core_settings, message


def launched(channel: str) -> dict[str, Any]:
    return message(
        channel, 1, "RocketLaunched", {"type": "Falcon-9", "launchSpeed": 500, "mission": "M"}
    )


def sped_up(channel: str, number: int) -> dict[str, Any]:
    return message(channel, number, "RocketSpeedIncreased", {"by": 10})


HOSTILE = [
    "/rockets/a%00b",
    "/rockets/a%00b?at=1",
    "/rockets/a%00b/events",
    "/rockets/a%00b/history",
    "/rockets/%00",
    "/rockets?mission=a%00b",
    "/rockets?type=a%00b",
    "/rockets?status=going%00",
    "/rockets?sort=speed&mission=a%00b",
    f"/rockets?limit={2**63}",
    f"/rockets?offset={2**63}",
    f"/rockets?limit={2**64}&offset={2**63 - 1}",
    f"/rockets?sort=speed&order=desc&limit={2**63}&offset=1",
    f"/rockets/r1?at={2**63}",
    f"/rockets/r1/events?from={2**63}",
    f"/rockets/r1/history?from={2**63}",
]
"""Reads with what PostgreSQL cannot take: a NUL character, integers past 64 bits."""


def _answers(store: str) -> dict[str, tuple[Any, ...]]:
    """What a server on ``store`` answers to each of ``HOSTILE``, after two messages."""
    with TestClient(create_app(core_settings(store=store))) as client:
        posted = client.post("/messages", json=[launched("r1"), sped_up("r1", 2)])
        assert posted.status_code == 202
        seen = {}
        for path in HOSTILE:
            answer = client.get(path)
            body = answer.json()
            shape = (
                len(body)
                if isinstance(body, list)
                else body.get("error", body.get("lastMessageNumber"))
            )
            seen[path] = (answer.status_code, answer.headers.get("x-total-count"), shape)
        return seen


def test_input_postgresql_cannot_take_is_answered_as_by_the_other_stores(
    postgres_url: str, tmp_path: Path
) -> None:
    memory = _answers("memory://")
    assert all(status < 500 for status, _, _ in memory.values()), memory
    assert _answers(f"sqlite:///{tmp_path}/rockets.db") == memory
    assert _answers(postgres_url) == memory
