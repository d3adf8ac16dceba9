from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from rockets.app import load_plugins
from rockets.core.aggregate import fold
from rockets.errors import PluginError
from rockets.launch import LaunchOptions, base_url, find_scenario, plan_traffic
from rockets.records import Record
from rockets.scenario import VERIFIED_FIELDS, Scenario
from rockets.settings import Settings

HOOKS = load_plugins(Settings())
OFFERED = HOOKS.launch_scenarios()
_T = datetime(2022, 2, 2, 19, 39, 5, tzinfo=UTC)
STANDARD = find_scenario(OFFERED, None)


def numbers(options: LaunchOptions) -> tuple[list[tuple[str, int]], int]:
    plan = plan_traffic(STANDARD, options)
    sent = [
        (e.metadata.channel or "", e.metadata.message_number or 0)
        for request in plan.requests
        for e in request
    ]
    return sent, plan.duplicates


def test_plan_sends_every_message_and_the_duplicates() -> None:
    options = LaunchOptions(url="x", rockets=7, messages=12, duplicate_rate=0.25, seed=1)
    sent, duplicates = numbers(options)
    counts = Counter(sent)
    assert len(counts) == 7 * 12
    assert sum(counts.values()) == 7 * 12 + duplicates
    assert 0 < duplicates < 7 * 12
    assert set(counts.values()) <= {1, 2}
    for channel in {c for c, _ in counts}:
        assert sorted(n for c, n in counts if c == channel) == list(range(1, 13))


def test_no_reordering_keeps_each_rocket_in_order() -> None:
    sent, _ = numbers(LaunchOptions(url="x", rockets=3, messages=10, reorder="none", seed=2))
    for channel in {c for c, _ in sent}:
        mine = [n for c, n in sent if c == channel]
        assert mine == sorted(mine)


def test_shuffle_reorders_and_a_seed_replays() -> None:
    options = LaunchOptions(url="x", rockets=3, messages=30, reorder="shuffle", seed=3)
    sent, _ = numbers(options)
    assert sent == numbers(options)[0]
    assert sent != numbers(msgspec.structs.replace(options, seed=4))[0]
    first = [n for c, n in sent if c == sent[0][0]]
    assert first != sorted(first)


def test_each_rocket_s_clock_runs_in_the_order_of_its_numbers_however_it_is_shuffled() -> None:
    # Stamped at receipt instead, a shuffled rocket's updatedAt came before its launchedAt.
    before = datetime.now(UTC)
    options = LaunchOptions(url="x", rockets=4, messages=25, reorder="shuffle", seed=6)
    plan = plan_traffic(STANDARD, options)
    times: dict[tuple[str, int], datetime] = {}
    for e in (e for request in plan.requests for e in request):
        meta = e.metadata
        assert meta.message_time is not None
        times[(meta.channel or "", meta.message_number or 0)] = datetime.fromisoformat(
            meta.message_time
        )
    assert len(set(times.values())) == 4 * 25  # a duplicate is the same message, same time
    for channel in {c for c, _ in times}:
        mine = [times[(channel, n)] for n in range(1, 26)]
        assert mine == sorted(mine)
    assert max(times.values()) <= datetime.now(UTC)
    assert min(times.values()) >= before - timedelta(milliseconds=4 * 25)


def test_batches_hold_batch_size_messages() -> None:
    plan = plan_traffic(
        STANDARD, LaunchOptions(url="x", rockets=2, messages=10, batch_size=4, duplicate_rate=0)
    )
    assert [len(r) for r in plan.requests] == [4, 4, 4, 4, 4]


@pytest.mark.parametrize("seed", range(40))
def test_standard_reference_model_agrees_with_the_plugins(seed: int) -> None:
    """The scenario's expectation is computed independently: it must equal the real fold."""
    registry = HOOKS.registry()
    rng = random.Random(seed)
    life = STANDARD.invent(rng, rng.randrange(1, 60))
    records = [
        Record("c", n, p.message_type, _T, _T, msgspec.json.encode(p.payload))
        for n, p in enumerate(life, start=1)
    ]
    expected, actual = STANDARD.expect("c", life), fold(registry, "c", records)
    for name in VERIFIED_FIELDS:
        assert getattr(expected, name) == getattr(actual, name)


def test_first_message_launches_and_explosions_happen() -> None:
    rng = random.Random(0)
    lives = [STANDARD.invent(rng, 40) for _ in range(50)]
    assert {life[0].message_type for life in lives} == {"RocketLaunched"}
    assert any(p.message_type == "RocketExploded" for life in lives for p in life)


def test_scenario_lookup() -> None:
    assert isinstance(STANDARD, Scenario)
    assert find_scenario(OFFERED, "standard") is not None
    with pytest.raises(PluginError, match="no launch scenario 'moon'; known: standard"):
        find_scenario(OFFERED, "moon")


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("http://localhost:8088/messages", "http://localhost:8088"),
        ("http://localhost:8088/messages/", "http://localhost:8088"),
        ("http://localhost:8088", "http://localhost:8088"),
        ("localhost:8088", "http://localhost:8088"),
        ("https://example.test/api/messages", "https://example.test/api"),
    ],
)
def test_base_url(url: str, base: str) -> None:
    assert base_url(url) == base
