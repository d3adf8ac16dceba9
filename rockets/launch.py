"""``rockets launch``: invent rockets, post their messages out of order and more than once, and
optionally verify that the server ends in the state the scenario expects.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import msgspec
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rockets.client import (
    ApiError,
    AsyncRocketsClient,
    ClientError,
    ConnectionFailedError,
    message,
)
from rockets.errors import PluginError
from rockets.scenario import VERIFIED_FIELDS, Scenario
from rockets.state import RocketState
from rockets.wire import Envelope
from rockets.words import counted

__all__ = [
    "LaunchOptions",
    "Plan",
    "SendReport",
    "VerifyReport",
    "base_url",
    "find_scenario",
    "launch",
    "plan_traffic",
]

Reorder = Literal["none", "window", "shuffle"]


class LaunchOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Everything ``rockets launch`` is told (see ``rockets launch --help``)."""

    url: str
    rockets: int = 5
    messages: int = 20
    duplicate_rate: float = 0.1
    reorder: Reorder = "window"
    window: int = 10
    seed: int | None = None
    batch_size: int = 1
    message_delay: float = 0.5
    concurrency: int = 1
    verify: bool = False
    verify_timeout: float = 30.0
    scenario: str | None = None


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """The traffic to send, in sending order, and the state each rocket must reach."""

    requests: list[list[Envelope]]
    expected: dict[str, RocketState]
    messages: int
    duplicates: int


class SendReport(msgspec.Struct, kw_only=True):
    """What reached the server: the messages and requests it answered (an error answer
    included), and of those messages the ones it had been sent before; the requests that never
    reached it are counted in ``errors`` only."""

    deliveries: int = 0
    duplicates: int = 0
    requests: int = 0
    seconds: float = 0.0
    latencies: list[float] = msgspec.field(default_factory=list)
    errors: Counter[str] = msgspec.field(default_factory=Counter)
    unreachable: str | None = None
    """Why the sending stopped early: a request could not reach the server after the SDK's
    retries (the rest would only wait out their own retries to say the same)."""


class VerifyReport(msgspec.Struct, frozen=True, kw_only=True):
    matched: int
    total: int
    seconds: float
    mismatches: list[str]

    @property
    def passed(self) -> bool:
        return self.matched == self.total


def base_url(url: str) -> str:
    """The server's base URL, whether given as such or as its ``/messages`` URL."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    path = parts.path.rstrip("/")
    path = path.removesuffix("/messages")
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def find_scenario(offered: Sequence[tuple[str, Scenario]], name: str | None) -> Scenario:
    """The scenario called ``name`` (or the first registered) among the plugins' offers
    (``(plugin, scenario)`` pairs, as
    :meth:`rockets.runtime.hooks.PluginHooks.launch_scenarios` gives).

    Raises:
        PluginError: no plugin offers one by that name, or two offer the same name.
    """
    found: dict[str, Scenario] = {}
    owners: dict[str, str] = {}
    for plugin, scenario in offered:
        if scenario.name in found:
            raise PluginError(
                f"launch scenario {scenario.name!r} is offered twice: by plugin "
                f"{owners[scenario.name]!r} and by plugin {plugin!r}"
            )
        found[scenario.name] = scenario
        owners[scenario.name] = plugin
    if not found:
        raise PluginError("no installed plugin offers a launch scenario")
    if name is None:
        return next(iter(found.values()))
    if name not in found:
        raise PluginError(f"no launch scenario {name!r}; known: {', '.join(found)}")
    return found[name]


def plan_traffic(scenario: Scenario, options: LaunchOptions) -> Plan:
    """Invent the rockets and decide the order, duplicates and batches of their messages.

    Duplicates are extra copies sent right after the original; ``window`` reordering shuffles
    consecutive runs of ``window`` deliveries, ``shuffle`` the whole traffic, ``none`` keeps
    every rocket's messages in order (rockets interleaved).
    """
    rng = random.Random(options.seed)
    lives: list[list[Envelope]] = []
    expected: dict[str, RocketState] = {}
    # Each message carries the time its rocket made it, a millisecond after the one before
    # (of any rocket), the last made now: a rocket's clock runs in the order of its numbers
    # however its messages are delivered, as a real rocket's would.
    made = datetime.now(UTC) - timedelta(milliseconds=options.messages * options.rockets)
    for r in range(options.rockets):
        channel = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        life = list(scenario.invent(rng, options.messages))
        expected[channel] = scenario.expect(channel, life)
        lives.append(
            [
                message(
                    p.payload,
                    message_type=p.message_type,
                    channel=channel,
                    number=n,
                    time=made + timedelta(milliseconds=(n - 1) * options.rockets + r),
                )
                for n, p in enumerate(life, start=1)
            ]
        )
    in_order = [life[i] for i in range(options.messages) for life in lives if i < len(life)]
    traffic: list[Envelope] = []
    for envelope in in_order:
        traffic.append(envelope)
        if rng.random() < options.duplicate_rate:
            traffic.append(envelope)
    if options.reorder == "shuffle":
        rng.shuffle(traffic)
    elif options.reorder == "window":
        for start in range(0, len(traffic), options.window):
            run = traffic[start : start + options.window]
            rng.shuffle(run)
            traffic[start : start + options.window] = run
    size = options.batch_size
    requests = [traffic[i : i + size] for i in range(0, len(traffic), size)]
    return Plan(
        requests=requests,
        expected=expected,
        messages=len(in_order),
        duplicates=len(traffic) - len(in_order),
    )


async def send(
    client: AsyncRocketsClient, plan: Plan, options: LaunchOptions, progress: Progress
) -> SendReport:
    """Post every request of ``plan`` from ``options.concurrency`` concurrent senders."""
    report = SendReport()
    task = progress.add_task("sending", total=sum(len(r) for r in plan.requests))
    queue: asyncio.Queue[list[Envelope]] = asyncio.Queue()
    for request in plan.requests:
        queue.put_nowait(request)

    reached: set[tuple[str | None, int | None]] = set()
    unsent = [0]

    async def sender() -> None:
        while not queue.empty() and report.unreachable is None:
            request = queue.get_nowait()
            started = time.perf_counter()
            answered = True
            try:
                if len(request) == 1:
                    await client.send(request[0])
                else:
                    await client.send_batch(request)
            except ApiError as exc:
                report.errors[f"HTTP {exc.status}"] += 1
            except ConnectionFailedError as exc:
                # Nothing reached the server: nothing sent, and no latency to speak of.
                report.errors["connection"] += 1
                report.unreachable = report.unreachable or str(exc)
                answered = False
            if answered:
                report.latencies.append(time.perf_counter() - started)
                report.requests += 1
                report.deliveries += len(request)
                for envelope in request:
                    key = (envelope.metadata.channel, envelope.metadata.message_number)
                    report.duplicates += key in reached
                    reached.add(key)
                progress.advance(task, len(request))  # the bar counts what reached the server
            else:
                unsent[0] += len(request)
                progress.update(task, description=f"sending ({unsent[0]} not sent)")
            if options.message_delay:
                await asyncio.sleep(options.message_delay)

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(options.concurrency)))
    report.seconds = time.perf_counter() - started
    return report


def _differences(expected: RocketState, actual: RocketState | None) -> list[str]:
    if actual is None:
        return ["missing"]
    return [
        f"{name}: expected {getattr(expected, name)!r}, got {getattr(actual, name)!r}"
        for name in VERIFIED_FIELDS
        if getattr(expected, name) != getattr(actual, name)
    ]


async def verify(client: AsyncRocketsClient, plan: Plan, timeout: float) -> VerifyReport:
    """Poll the server until every rocket matches its expected state, or ``timeout`` passes."""
    started = time.perf_counter()
    while True:
        page = await client.rockets()
        actual = {state.channel: state for state in page.items}
        problems = {
            channel: diff
            for channel, expected in plan.expected.items()
            if (diff := _differences(expected, actual.get(channel)))
        }
        elapsed = time.perf_counter() - started
        if not problems or elapsed >= timeout:
            return VerifyReport(
                matched=len(plan.expected) - len(problems),
                total=len(plan.expected),
                seconds=elapsed,
                mismatches=[f"{c}: {'; '.join(d)}" for c, d in problems.items()],
            )
        await asyncio.sleep(0.2)


def _of(done: int, planned: int, noun: str) -> str:
    """``5 messages`` when all planned were, ``0 of 5 messages`` otherwise."""
    return counted(done, noun) if done == planned else f"{done} of {counted(planned, noun)}"


def _sent(report: SendReport, plan: Plan) -> str:
    """The line that sums up what reached the server, out of what was planned."""
    messages = _of(report.deliveries, sum(len(r) for r in plan.requests), "message")
    requests = _of(report.requests, len(plan.requests), "request")
    rate = report.deliveries / report.seconds if report.seconds else 0.0
    line = (
        f"sent {messages} ({counted(report.duplicates, 'duplicate')}) in {requests}, "
        f"{report.seconds:.2f}s, {rate:,.0f} msgs/s"
    )
    if report.latencies:
        line += (
            f"; latency p50 {_ms(report.latencies, 50):.1f}ms "
            f"p95 {_ms(report.latencies, 95):.1f}ms p99 {_ms(report.latencies, 99):.1f}ms"
        )
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(report.errors.items())) or "none"
    return f"{line}; errors: {errors}"


def _ms(values: Sequence[float], q: int) -> float:
    if len(values) < 2:
        return (values[0] if values else 0.0) * 1000
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


async def _run(options: LaunchOptions, scenario: Scenario, console: Console) -> int:
    plan = plan_traffic(scenario, options)
    url = base_url(options.url)
    console.print(
        f"launching {counted(options.rockets, 'rocket')} at {url}: "
        f"{counted(plan.messages, 'message')} + {counted(plan.duplicates, 'duplicate')}, "
        f"reorder={options.reorder}, "
        f"batch={options.batch_size}, concurrency={options.concurrency}, "
        f"delay={options.message_delay * 1000:g}ms, scenario={scenario.name}",
        markup=False,
    )
    async with AsyncRocketsClient(url) as client:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        # A bar only on a terminal: piped, it would leave an empty line.
        bar = Progress(*columns, console=console, transient=True, disable=not console.is_terminal)
        with bar as progress:
            report = await send(client, plan, options, progress)
        console.print(_sent(report, plan), markup=False)
        failed = bool(report.errors)
        if report.unreachable is not None:
            left = len(plan.requests) - report.requests - report.errors["connection"]
            console.print(
                f"stopped: the server cannot be reached ({report.unreachable}); "
                f"{counted(left, 'request')} more not tried"
                + ("; nothing to verify" if options.verify else ""),
                markup=False,
            )
        elif options.verify:
            result = await verify(client, plan, options.verify_timeout)
            verdict = "PASS" if result.passed else "FAIL"
            console.print(
                f"verify: {verdict}: {result.matched}/{result.total} rockets in the expected "
                f"state after {result.seconds:.2f}s"
            )
            for line in result.mismatches[:10]:
                console.print(f"  {line}", markup=False)
            if len(result.mismatches) > 10:
                console.print(f"  … and {len(result.mismatches) - 10} more")
            failed = failed or not result.passed
    return 1 if failed else 0


def launch(options: LaunchOptions, scenario: Scenario, console: Console | None = None) -> int:
    """Run one launch; return the exit status (0: sent without error and, if asked, verified)."""
    # Lines are not wrapped: piped output (a file, a CI log) keeps one line per line, where
    # rich would wrap at its default width of 80 columns.
    # No highlighting either: rich would colour "4.22s" as two numbers.
    console = console or Console(soft_wrap=True, highlight=False)
    try:
        return asyncio.run(_run(options, scenario, console))
    except ClientError as exc:
        console.print(f"rockets launch: {exc}", markup=False)
        return 1
