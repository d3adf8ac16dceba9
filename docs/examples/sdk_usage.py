"""The SDK in use, sync and async, against `make run` (the five standard message types):
`python docs/examples/sdk_usage.py [URL]`, as often as you like (each run flies a new rocket),
with the SDK alone installed (`pip install ./sdk`) or in the project's `.venv`.

mypy checks this file; the tests run it in-process, twice in a row against `make run`, and in a
fresh virtual environment holding nothing but the SDK's wheel and its dependencies.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import UTC, datetime

import msgspec
from rockets_client import (
    DEFAULT_URL,
    PAYLOAD_TYPES,
    AsyncRocketsClient,
    ConflictError,
    NotFoundError,
    RetryPolicy,
    RocketExploded,
    RocketLaunched,
    RocketsClient,
    RocketSpeedIncreased,
    StreamedEvent,
    message,
)


class FleetCounts(msgspec.Struct, rename="camel"):
    """The part of the standard `fleet` projection this script reads (the rest is ignored)."""

    rockets: int
    by_status: dict[str, int]


def post_and_read(client: RocketsClient, channel: str) -> int:
    """Post a short flight, read it back; return the rocket's top speed."""
    launched_at = datetime(2022, 2, 2, 19, 39, 5, tzinfo=UTC)
    client.send(
        RocketLaunched(type="Falcon-9", launch_speed=500, mission="ARTEMIS"),
        channel=channel,
        number=1,
        time=launched_at,
    )
    # Several messages in one request: a batch, acknowledged message by message.
    acks = client.send_batch(
        [
            message(RocketSpeedIncreased(by=300), channel=channel, number=3),
            message(RocketSpeedIncreased(by=200), channel=channel, number=2),
        ]
    )
    assert [ack.status for ack in acks] == ["accepted", "accepted"]

    rocket = client.rocket(channel)
    print(f"{rocket.type} at {rocket.speed} on {rocket.mission}")
    print("after message 1:", client.rocket(channel, at=1).speed)

    # The same number with another payload is refused; the first message stays.
    try:
        client.send(RocketExploded(reason="typo"), channel=channel, number=2)
    except ConflictError as exc:
        print("409:", exc.detail)

    # A type the SDK has no Struct for (a plugin's, such as RocketLanded in
    # docs/examples/plugins): name it and pass the payload as a mapping.
    client.send(
        {"newMission": "MARS"}, message_type="RocketMissionChanged", channel=channel, number=4
    )

    fastest = client.rockets(sort="speed", order="desc", status="flying", limit=5)
    print(f"{fastest.total} flying; the fastest at {fastest.items[0].speed}")

    # Each event's message decodes into the payload Struct the client was given for its type.
    for event in client.events(channel).items:
        payload = client.payload(event)
        if isinstance(payload, RocketSpeedIncreased):
            print(f"event {event.message_number}: speed up by {payload.by}")

    # The rocket's state after each event; `start` is the API's `from`.
    print("speeds:", [point.state.speed for point in client.history(channel, start=1)])

    # A projection, a read model over every rocket: decoded into the Struct given, with the
    # log position it has taken in (it follows the log, so it may be a few events behind).
    fleet = client.projection("fleet", FleetCounts)
    print(f"fleet at position {fleet.position}: {fleet.value.rockets} rockets")

    try:
        client.rocket("no-such-rocket")
    except NotFoundError as exc:
        print("404:", exc.detail)
    return rocket.speed


async def post_async(client: AsyncRocketsClient, channel: str) -> str:
    """The same client, awaited; return the rocket's status."""
    await client.send(RocketExploded(reason="PRESSURE_VESSEL_FAILURE"), channel=channel, number=5)
    health = await client.health()
    print("server:", health.status, "with", ", ".join(health.message_types))
    report = await client.plugins()
    print("plugins:", ", ".join(plugin.name for plugin in report.plugins))
    print("stalled:", [stalled.channel for stalled in await client.stalled()])
    print("projections:", [(p.name, p.status) for p in await client.projections()])
    return (await client.rocket(channel)).status


def walk_and_follow(client: RocketsClient, channel: str) -> int:
    """Walk through every flying rocket and every event of one; follow the live stream for a
    moment. Return how many rockets fly."""
    # Page after page (`page_size` a request): each rocket once, even while others are created.
    flying = sum(1 for _ in client.iter_rockets(status="flying", page_size=50))
    print(f"{flying} flying, walked page by page")
    numbers = [event.message_number for event in client.iter_events(channel, page_size=2)]
    print("events:", numbers)

    # The stream stops after `timeout` seconds (the loop just ends); `idle_timeout` raises
    # StreamIdleError when nothing at all (no event, no keep-alive comment, sent every 15 s)
    # came for that long. Nothing is posted meanwhile here, so nothing arrives.
    updates = 0
    for item in client.stream(channel=channel, timeout=0.5, idle_timeout=30):
        if isinstance(item.data, StreamedEvent):
            updates += 1
    print(f"{updates} live updates in half a second")
    return flying


def main(url: str) -> None:
    channel = f"sdk-demo-{uuid.uuid4()}"
    # Give up after two tries instead of five.
    retry = RetryPolicy(attempts=2)
    with RocketsClient(url, retry=retry, payload_types=PAYLOAD_TYPES) as sync_client:
        post_and_read(sync_client, channel)
        walk_and_follow(sync_client, channel)

    async def run() -> str:
        async with AsyncRocketsClient(url, retry=retry) as async_client:
            return await post_async(async_client, channel)

    print(asyncio.run(run()))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_URL)
