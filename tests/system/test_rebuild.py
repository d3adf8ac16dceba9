"""``rockets rebuild``: re-folding kept states after a plugin's apply changed."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import msgspec
import pytest

from rockets.app import load_plugins
from rockets.core.aggregate import apply_records
from rockets.records import Record
from rockets.runtime.engine import Engine
from rockets.runtime.maintenance import rebuild_states
from rockets.settings import Settings
from rockets.stores import open_store

from ..conftest import EXAMPLE_PACKAGE, ROOT
from ..server import BIN

T = datetime(2022, 2, 2, tzinfo=UTC)


def record(channel: str, number: int, kind: str, payload: dict[str, object]) -> Record:
    return Record(channel, number, kind, T, T, msgspec.json.encode(payload))


@pytest.mark.anyio
async def test_rebuild_refolds_postgresql_states(postgres_url: str) -> None:
    standard = load_plugins(Settings(blocked_plugins=(EXAMPLE_PACKAGE,))).registry()
    store = open_store(postgres_url, Settings().limits)
    await store.open(standard.state, partial(apply_records, standard))
    engine = Engine(standard, store)
    launch = {"type": "F9", "launchSpeed": 10, "mission": "M"}
    for channel in ("a", "b"):
        await engine.process([[record(channel, 1, "RocketLaunched", launch)]])
        await engine.process([[record(channel, 2, "RocketSpeedIncreased", {"by": 5})]])
    await engine.process([[record("c", 1, "RocketLaunched", launch)]])
    await store.close()

    # The same events, folded by a plugin whose apply now adds one more.
    changed = load_plugins(
        Settings(
            blocked_plugins=(EXAMPLE_PACKAGE, "rocket_speed_increased"),
            plugins_dir=str(ROOT / "tests" / "plugins" / "wrong_speed"),
        )
    ).registry()
    store = open_store(postgres_url, Settings().limits)
    await store.open(changed.state, partial(apply_records, changed))
    try:
        before = await store.rocket("a")
        assert before is not None
        assert before.speed == 15  # kept as the old plugin folded it
        report = await rebuild_states(store, changed)
        assert (report.rockets, report.changed) == (3, 2)
        after = await store.rocket("a")
        assert after is not None
        assert (after.speed, after.last_message_number) == (16, 2)
        assert (await rebuild_states(store, changed)).changed == 0
    finally:
        await store.close()


def test_rebuild_has_nothing_to_do_for_a_store_that_refolds_at_start(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(BIN / "rockets"), "rebuild", "--store", f"sqlite:///{tmp_path}/rockets.db"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert (
        "nothing to rebuild: the sqlite store rebuilds every state when it starts" in result.stdout
    )


def test_rebuild_command_on_postgresql(postgres_url: str) -> None:
    result = subprocess.run(
        [str(BIN / "rockets"), "rebuild", "--store", postgres_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "rebuilt 0 rockets: 0 states changed" in result.stdout
