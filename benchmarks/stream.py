"""How fast the live stream delivers: events per second reaching a GET /stream client while
batches are posted as fast as the server takes them.

    .venv/bin/python -m benchmarks.stream [--messages 50000] [--batch 500] [--subscribers 1]

Prints the ingest rate and the delivery rate (events received by each subscriber per second,
from the first post to the last event received).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence

import httpx
import msgspec

from benchmarks.harness import free_port, rockets_server, serving


def batch(first: int, size: int, rockets: int) -> bytes:
    messages = []
    for n in range(first, first + size):
        channel, number = f"stream-{n % rockets}", n // rockets + 1
        kind, payload = (
            ("RocketLaunched", {"type": "F9", "launchSpeed": 1, "mission": "M"})
            if number == 1
            else ("RocketSpeedIncreased", {"by": 1})
        )
        messages.append(
            {
                "metadata": {"channel": channel, "messageNumber": number, "messageType": kind},
                "message": payload,
            }
        )
    return msgspec.json.encode(messages)


async def run(url: str, messages: int, size: int, subscribers: int) -> tuple[float, list[float]]:
    received = [0] * subscribers
    done = [asyncio.Event() for _ in range(subscribers)]
    finished = [0.0] * subscribers

    async def subscribe(i: int) -> None:
        async with (
            httpx.AsyncClient(timeout=None) as client,
            client.stream("GET", f"{url}/stream") as response,
        ):
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    received[i] += 1
                    if received[i] == messages:
                        finished[i] = time.perf_counter()
                        done[i].set()
                        return

    readers = [asyncio.create_task(subscribe(i)) for i in range(subscribers)]
    await asyncio.sleep(0.5)
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=60) as client:
        for first in range(0, messages, size):
            response = await client.post(
                f"{url}/messages",
                content=batch(first, min(size, messages - first), rockets=100),
                headers={"content-type": "application/json"},
            )
            response.raise_for_status()
    posted = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(d.wait() for d in done)), timeout=120)
    await asyncio.gather(*readers)
    return messages / (posted - started), [messages / (end - started) for end in finished]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--subscribers", type=int, default=1)
    args = parser.parse_args(argv)
    port = free_port()
    with serving(rockets_server(port), port, env={"ROCKETS_STREAM_HISTORY": "100000"}) as server:
        ingest, delivery = asyncio.run(run(server.url, args.messages, args.batch, args.subscribers))
    print(f"ingest: {ingest:,.0f} msgs/s ({args.messages} messages in batches of {args.batch})")
    for i, rate in enumerate(delivery):
        print(f"subscriber {i + 1}: {rate:,.0f} events/s delivered ({args.messages} events)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
