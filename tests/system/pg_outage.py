"""PostgreSQL outage probe: how `rockets serve` answers while its database is stopped, and how
soon it serves again once the database is back. A measurement, not a test; from the repository
root (it needs the machine's PostgreSQL binaries, and starts a private cluster of its own):

    .venv/bin/python -m tests.system.pg_outage

It serves on a fresh database, stops the cluster (``pg_ctl stop -m fast``), times the first
answer to a read and to a write, asks ``GET /health``, starts the cluster again and times the
first 202. Figures are printed, one per line. ``--mode immediate`` stops it as a crash would.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from typing import Any

import httpx

from ..pg import Cluster, cluster, fresh_database
from ..server import BIN, free_port, running

PATIENCE = 90.0
"""Seconds a probe waits for one answer, longer than any hang it is meant to measure."""


def _message(channel: str, number: int) -> dict[str, Any]:
    kind = "RocketLaunched" if number == 1 else "RocketSpeedIncreased"
    payload = (
        {"type": "Falcon-9", "launchSpeed": 500, "mission": "ARTEMIS"} if number == 1 else {"by": 1}
    )
    return {
        "metadata": {"channel": channel, "messageNumber": number, "messageType": kind},
        "message": payload,
    }


def _seen(response: httpx.Response) -> str:
    retry = response.headers.get("retry-after")
    body = response.text.replace("\n", " ")[:1000]
    return f"{response.status_code} (Retry-After: {retry}) {body}"


async def _first_answer(client: httpx.AsyncClient, request: httpx.Request, since: float) -> str:
    response = await client.send(request)
    return f"{time.monotonic() - since:.2f} s: {_seen(response)}"


async def _until_accepted(client: httpx.AsyncClient, channel: str, since: float) -> str:
    """Post the channel's next message until one is stored; how long that took."""
    number = 2
    tries = 0
    while True:
        tries += 1
        response = await client.post("/messages", json=_message(channel, number))
        if response.status_code == 202:
            return f"{time.monotonic() - since:.2f} s after {tries} attempts"
        await asyncio.sleep(0.02)


async def probe(url: str, pg: Cluster, mode: str) -> list[str]:
    lines = []
    channel = str(uuid.uuid4())
    async with httpx.AsyncClient(base_url=url, timeout=PATIENCE) as client:
        assert (await client.post("/messages", json=_message(channel, 1))).status_code == 202
        assert (await client.get(f"/rockets/{channel}")).status_code == 200
        started = time.monotonic()
        pg.stop(mode)
        stopped = time.monotonic()
        lines.append(f"pg_ctl stop -m {mode} took {stopped - started:.2f} s")
        read = client.build_request("GET", f"/rockets/{channel}")
        write = client.build_request(
            "POST", "/messages", content=json.dumps(_message(channel, 2)).encode()
        )
        write.headers["content-type"] = "application/json"
        first_read, first_write = await asyncio.gather(
            _first_answer(client, read, stopped), _first_answer(client, write, stopped)
        )
        lines.append(f"first read after the stop:  {first_read}")
        lines.append(f"first write after the stop: {first_write}")
        health = client.build_request("GET", "/health")
        lines.append(f"GET /health while down:     {await _first_answer(client, health, stopped)}")
        listing = client.build_request("GET", "/rockets")
        lines.append(f"GET /rockets while down:    {await _first_answer(client, listing, stopped)}")
        restarting = time.monotonic()
        pg.start()
        restarted = time.monotonic()
        lines.append(f"pg_ctl start -w took {restarted - restarting:.2f} s")
        lines.append(
            "first 202 after pg_ctl start returned: "
            f"{await _until_accepted(client, channel, restarted)}"
        )
        health = client.build_request("GET", "/health")
        lines.append(
            f"GET /health after:          {await _first_answer(client, health, restarted)}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--options", default="", help="store URL query string, e.g. pool_max=4")
    parser.add_argument(
        "--mode", default="fast", choices=["smart", "fast", "immediate"], help="pg_ctl stop -m"
    )
    args = parser.parse_args()
    with cluster() as pg, fresh_database(pg.url) as database:
        store = f"{database}?{args.options}" if args.options else database
        port = free_port()
        command = [str(BIN / "rockets"), "serve", "--port", str(port), "--store", store]
        with running(command, port, quiet=True) as server:
            for line in asyncio.run(probe(server.url, pg, args.mode)):
                print(line)


if __name__ == "__main__":
    main()
