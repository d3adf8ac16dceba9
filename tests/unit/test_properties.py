"""Property: delivery order and duplicates never change the outcome."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rockets.app import build_service, load_plugins
from rockets.core.aggregate import fold
from rockets.settings import Settings

HOOKS = load_plugins(Settings())

text = st.text(alphabet="ABCxyz -🚀", max_size=6)
by = st.integers(min_value=0, max_value=2_000)
payloads: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "RocketLaunched": st.fixed_dictionaries({"type": text, "launchSpeed": by, "mission": text}),
    "RocketSpeedIncreased": st.fixed_dictionaries({"by": by}),
    "RocketSpeedDecreased": st.fixed_dictionaries({"by": by}),
    "RocketMissionChanged": st.fixed_dictionaries({"newMission": text}),
    "RocketExploded": st.fixed_dictionaries({"reason": text}),
}
message = st.sampled_from(sorted(payloads)).flatmap(
    lambda kind: payloads[kind].map(lambda payload: (kind, payload))
)
channel_history = st.lists(message, min_size=1, max_size=25)


def envelope(channel: str, number: int, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {
            "channel": channel,
            "messageNumber": number,
            "messageType": kind,
            "messageTime": f"2022-02-02T{number % 24:02d}:00:00Z",
        },
        "message": payload,
    }


async def deliver(requests: list[list[dict[str, Any]]], workers: int) -> dict[str, Any]:
    """Post each request (a batch, or one message when alone) concurrently; return what the
    service ends up with."""
    service = build_service(Settings(worker_count=workers), hooks=HOOKS)
    await service.start()
    try:
        bodies = [msgspec.json.encode(r if len(r) > 1 else r[0]) for r in requests]
        answers = await asyncio.gather(*(service.ingest(b) for b in bodies))
        assert all(a.all_taken for a in answers), [a.fates for a in answers]
        result: dict[str, Any] = {}
        for channel in sorted({m["metadata"]["channel"] for r in requests for m in r}):
            state = await service.rocket(channel)
            records = await service.store.events(channel, 1, 10_000)
            # Replay from the event log equals the live projection.
            assert fold(service.registry, channel, records) == state
            log = [(r.message_number, r.message_type, r.message_time, r.payload) for r in records]
            # Each service composes its own state type: compare what they serve.
            result[channel] = (msgspec.to_builtins(state), log)
        return result
    finally:
        await service.stop()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    histories=st.lists(channel_history, min_size=1, max_size=3),
    data=st.data(),
    workers=st.integers(min_value=1, max_value=4),
)
def test_any_order_with_duplicates_gives_the_in_order_result(
    histories: list[list[tuple[str, dict[str, Any]]]], data: st.DataObject, workers: int
) -> None:
    messages = [
        envelope(f"ch{c}", n, kind, payload)
        for c, history in enumerate(histories)
        for n, (kind, payload) in enumerate(history, start=1)
    ]
    in_order = asyncio.run(deliver([[m] for m in messages], workers=1))

    extra = data.draw(st.lists(st.sampled_from(messages), max_size=len(messages)), label="dups")
    traffic = data.draw(st.permutations(messages + extra), label="order")
    sizes = data.draw(
        st.lists(
            st.integers(min_value=1, max_value=5), min_size=len(traffic), max_size=len(traffic)
        ),
        label="batch sizes",
    )
    requests, i = [], 0
    for size in sizes:
        if i >= len(traffic):
            break
        requests.append(traffic[i : i + size])
        i += size
    shuffled = asyncio.run(deliver(requests, workers))

    assert shuffled == in_order
    for channel, (state, log) in shuffled.items():
        assert state["lastMessageNumber"] == len(log)
        assert state["pending"] == 0
        assert [number for number, *_ in log] == list(range(1, len(log) + 1))
        assert channel.startswith("ch")
