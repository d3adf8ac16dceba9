from __future__ import annotations

import asyncio

import httpx
import msgspec
import pytest

from rockets.app import build_service, create_app
from rockets.errors import PoolClosedError, SettingsError
from rockets.settings import Settings

from ..gated_store import HANG_GUARD, GatedStore, let_the_loop_run

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


async def test_stop_applies_everything_already_queued(monkeypatch: pytest.MonkeyPatch) -> None:
    store = GatedStore()
    service = build_service(Settings(worker_count=2), store=store)
    await service.start()
    channels = [f"c{c}" for c in range(10)]
    requests = [
        asyncio.create_task(service.ingest(body(channel, n)))
        for n in range(80, 0, -1)
        for channel in channels
    ]
    # A worker takes its first group (256 at most) and its write waits at the gate; the store
    # writes one group at a time (so that positions in the log have no gap), so the other
    # worker's group waits behind it.
    await store.holding(1)
    assert store.held_messages > 0
    assert service.pool.queued + store.held_messages < len(requests)  # the other group is taken
    assert service.pool.queued > 0  # 800 messages, two groups of 256 at most: some wait

    draining = asyncio.Event()
    close = service.pool.close

    async def spied_close() -> None:
        draining.set()
        await close()

    monkeypatch.setattr(service.pool, "close", spied_close)
    stopping = asyncio.create_task(service.stop())
    async with asyncio.timeout(HANG_GUARD):
        await draining.wait()  # stop() has begun applying what is queued
    await let_the_loop_run()
    assert not stopping.done()  # it waits for the queues, held at the gate
    assert not any(r.done() for r in requests)

    store.gate.set()
    async with asyncio.timeout(HANG_GUARD):
        await stopping
    # The moment stop() returns, everything it found queued is applied and stored.
    assert service.pool.queued == 0
    assert store.held == []
    for channel in channels:
        state = await service.rocket(channel)
        assert (state.last_message_number, state.speed, state.pending) == (80, 80, 0)
        assert len(await service.store.events(channel, 1, 100)) == 80
    answers = await asyncio.gather(*requests)
    assert {s for a in answers for s in a.statuses} == {"accepted"}
    late = await service.ingest(body("c0", 81))
    assert late.statuses == ["rejected"]
    assert isinstance(late.fates[0], PoolClosedError)  # answered 503, retry later


async def test_long_replays_leave_the_event_loop_to_others() -> None:
    """``?at=N`` and ``/history`` replay from event 1; eight of them over 30,000 events must
    not keep ``/health`` (or anything else) waiting until they are all done."""
    service = build_service(Settings())
    await service.start()
    events = 30_000
    for first in range(1, events + 1, 1000):
        batch = [msgspec.json.decode(body("long", n)) for n in range(first, first + 1000)]
        assert (await service.ingest(msgspec.json.encode(batch))).all_taken
    replays = [asyncio.create_task(service.rocket_at("long", events)) for _ in range(8)]
    health = asyncio.create_task(service.health())
    async with asyncio.timeout(HANG_GUARD):
        done, _ = await asyncio.wait([health, *replays], return_when=asyncio.FIRST_COMPLETED)
    assert health in done
    assert not any(replay.done() for replay in replays)  # answered while they replay
    states = await asyncio.gather(*replays)
    current = await service.rocket("long")
    assert all(state == current for state in states)
    points = await service.history("long", events - 2, 10)
    assert [p.message_number for p in points] == [events - 2, events - 1, events]
    assert points[-1].state == current
    await service.stop()


async def test_the_bytes_of_bodies_being_worked_on_are_bounded_and_nothing_taken_is_lost() -> None:
    def note(channel: str) -> bytes:
        posted = {
            "metadata": {"channel": channel, "messageNumber": 1, "messageType": "RocketExploded"},
            "message": {"reason": "x" * 200},
        }
        return msgspec.json.encode(posted)

    size = len(note("c0"))
    store = GatedStore()
    # Room for two bodies at once, not three; the queue of requests is far from full.
    settings = Settings(worker_count=1, max_body_bytes=size, max_queue_bytes=2 * size + size // 2)
    app = create_app(settings, store=store)
    service = app.service
    await service.start()
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://rockets") as client:

            def post(channel: str) -> asyncio.Task[httpx.Response]:
                headers = {"content-type": "application/json"}
                return asyncio.create_task(
                    client.post("/messages", content=note(channel), headers=headers)
                )

            first = post("c0")
            await store.holding(1)  # the worker waits at the gate with the first
            second = post("c1")
            async with asyncio.timeout(HANG_GUARD):
                while service.pool.queued < 1:  # the second waits in the worker's queue
                    await asyncio.sleep(0)
            refused = await post("c2")
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "1"
            assert refused.json()["error"] == "unavailable"
            assert "ROCKETS_MAX_QUEUE_BYTES" in refused.json()["detail"]
            assert not first.done()
            assert not second.done()
            store.gate.set()
            assert [(await first).status_code, (await second).status_code] == [202, 202]
            # Their bytes are given back: the refused one is taken when sent again.
            assert (await post("c2")).status_code == 202
            listed = {state["channel"] for state in (await client.get("/rockets")).json()}
            assert listed == {"c0", "c1", "c2"}
    finally:
        await service.stop()


def test_the_bound_on_bodies_being_worked_on_holds_one_body() -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"ROCKETS_MAX_QUEUE_BYTES": "1000", "ROCKETS_MAX_BODY_BYTES": "2000"})
    assert "ROCKETS_MAX_QUEUE_BYTES (1000)" in str(refused.value)
    assert "ROCKETS_MAX_BODY_BYTES (2000)" in str(refused.value)
