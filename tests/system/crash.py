"""Crash test: kill the real server with SIGKILL under load, restart it, and check that every
acknowledged message survived, exactly once.

The CI runs a small version (tests/system/test_durability.py). The big one, from the repository root:

    .venv/bin/python -m tests.system.crash --store sqlite --messages 100000 --kills 20
    .venv/bin/python -m tests.system.crash --store postgresql://USER@HOST/DB --messages 100000 --kills 20

It prints one line of figures and exits 1 if anything acknowledged was lost or applied twice.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ..histories import Message, api_fields, expected, history
from ..server import BIN, Server, free_port, start

MESSAGES_PER_ROCKET = 50


@dataclass
class CrashReport:
    messages: int
    signal_name: str = "SIGKILL"
    deliveries: int = 0
    kills: int = 0
    acknowledged: int = 0
    acknowledged_lost: int = 0
    duplicates_applied: int = 0
    wrong_states: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.acknowledged_lost or self.duplicates_applied or self.wrong_states or self.problems
        )

    def line(self) -> str:
        return (
            f"crash test: {self.messages} messages, {self.deliveries} deliveries, "
            f"{self.kills} {self.signal_name} restarts, {self.acknowledged} acknowledged, "
            f"acknowledged lost = {self.acknowledged_lost}, "
            f"duplicates applied = {self.duplicates_applied}, "
            f"wrong final states = {self.wrong_states}, {self.seconds:.1f}s"
        )


class Harness:
    """Runs the server, and kills and restarts it on demand."""

    def __init__(self, store_url: str, stop_signal: int = signal.SIGKILL) -> None:
        self.store_url = store_url
        self.stop_signal = stop_signal
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: Server | None = None

    def start(self) -> None:
        command = [
            str(BIN / "rockets"),
            "serve",
            "--port",
            str(self.port),
            "--store",
            self.store_url,
        ]
        self.server = start(command, self.port, timeout=120)

    def restart_after_kill(self) -> None:
        assert self.server is not None
        if self.stop_signal == signal.SIGKILL:
            self.server.kill()
        else:
            code, output = self.server.stop(self.stop_signal, timeout=60)
            if code not in (0, -self.stop_signal) or "rockets stopped" not in output:
                raise RuntimeError(f"the server did not stop gracefully ({code}):\n{output}")
        self.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


async def _send(
    harness: Harness,
    traffic: list[Message],
    acked: set[tuple[str, int]],
    report: CrashReport,
    kills: int,
    concurrency: int,
    rng: random.Random,
) -> None:
    """Send ``traffic`` once, killing the server ``kills`` times along the way."""
    kill_at = sorted(rng.sample(range(len(traffic) // 10, len(traffic)), kills)) if kills else []
    queue: asyncio.Queue[list[Message]] = asyncio.Queue()
    i = 0
    while i < len(traffic):
        size = rng.choice([1, 1, 1, 1, 10])
        queue.put_nowait(traffic[i : i + size])
        i += size
    sent = 0
    restart = asyncio.Lock()

    async def sender(client: httpx.AsyncClient) -> None:
        nonlocal sent
        while not queue.empty():
            chunk = queue.get_nowait()
            body = [m.json() for m in chunk] if len(chunk) > 1 else chunk[0].json()
            report.deliveries += len(chunk)
            try:
                response = await client.post(f"{harness.url}/messages", json=body)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 202:
                for m in chunk:
                    acked.add((m.channel, m.number))
            elif response is not None and response.status_code not in (429, 503):
                report.problems.append(f"unexpected {response.status_code}: {response.text}")
            sent += len(chunk)
            if kill_at and sent >= kill_at[0]:
                async with restart:
                    if kill_at and sent >= kill_at[0]:
                        kill_at.pop(0)
                        report.kills += 1
                        await asyncio.to_thread(harness.restart_after_kill)

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(sender(client) for _ in range(concurrency)))


async def _verify(
    harness: Harness,
    lives: dict[str, list[Message]],
    acked: set[tuple[str, int]],
    report: CrashReport,
) -> None:
    async with httpx.AsyncClient(base_url=harness.url, timeout=60) as client:
        for channel, life in lives.items():
            events: list[dict[str, object]] = []
            start = 1
            while True:
                page = (
                    await client.get(
                        f"/rockets/{channel}/events", params={"from": start, "limit": 10_000}
                    )
                ).json()
                events += page
                if len(page) < 10_000:
                    break
                start += 10_000
            numbers = [e["messageNumber"] for e in events]
            # A message applied twice would show as a repeated number, or as an event that is
            # not the message the history holds at that number.
            report.duplicates_applied += len(numbers) - len(set(numbers))
            by_number = {m.number: m for m in life}
            report.duplicates_applied += sum(
                1
                for e in events
                if e["messageNumber"] not in by_number
                or e["message"] != by_number[e["messageNumber"]].payload
            )
            present = set(numbers)
            lost = [
                m.number for m in life if (channel, m.number) in acked and m.number not in present
            ]
            report.acknowledged_lost += len(lost)
            if lost:
                report.problems.append(f"{channel}: acknowledged but lost: {lost[:10]}")
            state = (await client.get(f"/rockets/{channel}")).json()
            if api_fields(state) != expected(life).as_api(channel):
                report.wrong_states += 1
                report.problems.append(f"{channel}: final state {api_fields(state)}")


def run_crash_test(
    store_url: str,
    messages: int,
    kills: int,
    *,
    seed: int = 1,
    concurrency: int = 8,
    duplicate_rate: float = 0.2,
    stop_signal: int = signal.SIGKILL,
) -> CrashReport:
    """Run the whole test against a fresh server on ``store_url``; return its figures."""
    rng = random.Random(seed)
    rockets = max(1, messages // MESSAGES_PER_ROCKET)
    lives = {
        f"crash-{i:05d}": history(rng, f"crash-{i:05d}", MESSAGES_PER_ROCKET)
        for i in range(rockets)
    }
    everything = [m for life in lives.values() for m in life]
    traffic = everything + [m for m in everything if rng.random() < duplicate_rate]
    rng.shuffle(traffic)
    report = CrashReport(messages=len(everything), signal_name=signal.Signals(stop_signal).name)
    acked: set[tuple[str, int]] = set()
    harness = Harness(store_url, stop_signal)
    started = time.perf_counter()
    harness.start()
    try:
        asyncio.run(_send(harness, traffic, acked, report, kills, concurrency, rng))
        # Re-send what was never acknowledged, until everything is.
        for _ in range(20):
            missing = [m for m in everything if (m.channel, m.number) not in acked]
            if not missing:
                break
            asyncio.run(_send(harness, missing, acked, report, 0, concurrency, rng))
        report.acknowledged = len(acked)
        asyncio.run(_verify(harness, lives, acked, report))
    finally:
        harness.stop()
    report.seconds = time.perf_counter() - started
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--store", default="sqlite", help="'sqlite' (a temporary file) or a store URL"
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--signal", choices=["SIGKILL", "SIGTERM"], default="SIGKILL", help="how to stop the server"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'crash.db'}" if args.store == "sqlite" else args.store
        report = run_crash_test(
            url, args.messages, args.kills, seed=args.seed, concurrency=args.concurrency
        )
    print(report.line())
    for problem in report.problems[:20]:
        print(" ", problem)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
