"""The SDK in use, sync and async. mypy checks this file in CI; a test runs it in-process."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from rockets_standard.messages import (
    RocketExploded,
    RocketLaunched,
    RocketSpeedIncreased,
)

from rockets.client import (
    AsyncRocketsClient,
    ConflictError,
    NotFoundError,
    RetryPolicy,
    RocketsClient,
    message,
)


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
    print(f"{rocket.channel}: {rocket.type} at {rocket.speed} on {rocket.mission}")
    print("after message 1:", client.rocket(channel, at=1).speed)

    # The same number with another payload is refused; the first message stays.
    try:
        client.send(RocketExploded(reason="typo"), channel=channel, number=2)
    except ConflictError as exc:
        print("409:", exc.detail)

    # A type from a plugin the SDK knows nothing about (docs/examples/plugins/rocket_landed.py):
    # name it and pass the payload as a mapping.
    client.send({"site": "LZ-1"}, message_type="RocketLanded", channel=channel, number=4)

    fastest = client.rockets(sort="speed", order="desc", status="flying", limit=5)
    print(f"{fastest.total} flying; fastest: {[r.channel for r in fastest.items]}")

    for event in client.events(channel).items:
        print(event.message_number, event.message_type, event.message_time.isoformat())

    try:
        client.rocket("no-such-rocket")
    except NotFoundError as exc:
        print("404:", exc.detail)
    return rocket.speed


async def post_async(client: AsyncRocketsClient, channel: str) -> str:
    """The same client, awaited; return the rocket's status."""
    await client.send(RocketExploded(reason="PRESSURE_VESSEL_FAILURE"), channel=channel, number=5)
    health = await client.health()
    print("server:", health.status, health.rockets, "rockets")
    return (await client.rocket(channel)).status


if __name__ == "__main__":
    # Against `ROCKETS_PLUGINS_DIR=docs/examples/plugins make run` (for RocketLanded);
    # give up after two tries instead of five.
    retry = RetryPolicy(attempts=2)
    with RocketsClient("http://127.0.0.1:8088", retry=retry) as sync_client:
        post_and_read(sync_client, "sdk-demo")

    async def main() -> None:
        async with AsyncRocketsClient("http://127.0.0.1:8088", retry=retry) as async_client:
            print(await post_async(async_client, "sdk-demo"))

    asyncio.run(main())
