from __future__ import annotations

import asyncio

import msgspec
import pytest

from rockets.app import build_service
from rockets.settings import Settings

from ..gated_store import GatedStore

pytestmark = pytest.mark.anyio


def body(channel: str, number: int) -> bytes:
    kind, payload = (
        ("RocketLaunched", {"type": "t", "launchSpeed": 1, "mission": "m"})
        if number == 1
        else ("RocketSpeedIncreased", {"by": 1})
    )
    return msgspec.json.encode(
        {
            "metadata": {"channel": channel, "messageNumber": number, "messageType": kind},
            "message": payload,
        }
    )


async def test_stop_applies_everything_already_queued() -> None:
    store = GatedStore()
    service = build_service(Settings(worker_count=2), store=store)
    await service.start()
    requests = [
        asyncio.create_task(service.ingest(body(f"c{c}", n)))
        for n in range(80, 0, -1)
        for c in range(10)
    ]
    await asyncio.sleep(0.05)  # each worker's first group (256 at most) waits at the gate
    assert service.pool.queued > 0
    stopping = asyncio.create_task(service.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()  # it waits for the queues
    store.gate.set()
    await stopping
    answers = await asyncio.gather(*requests)
    assert {a.status_code for a in answers} == {202}
    for c in range(10):
        state = await service.rocket(f"c{c}")
        assert (state.last_message_number, state.speed, state.pending) == (80, 80, 0)
    late = await service.ingest(body("c0", 81))
    assert late.status_code == 503
    assert late.retry_after == 1
