"""Plugin code and the service's background work that fail stop only what depends on them, are
told once, and show in ``/health``, ``/projections``, ``/plugins`` and ``/metrics``; projections
and listeners run off the request path, in threads of their own.

Every wait here is for an event or a state (a thread that entered a plugin's code, an answer
that says something stopped), never for a time: a poll is a request, and the counts bounding
them only keep a broken build from hanging the run.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
import pytest
from litestar.testing import TestClient

from rockets import Event, ProjectionType, RocketState, hookimpl
from rockets.app import create_app
from rockets.records import Applied, Record
from rockets.runtime.faults import Faults
from rockets.runtime.listeners import Listeners
from rockets.runtime.service import FOLLOWER
from rockets.runtime.supervisor import Beat, Supervisor

from ..conftest import attached, core_settings, message
from ..gated_store import HANG_GUARD

Client = TestClient[Any]
T = TypeVar("T")

POLLS = 20_000
"""Requests a poll makes at most before it fails: a guard against a hang, never a verdict."""
HELD = 20.0
"""Seconds a held plugin waits for its gate at most: a guard, so that a build that runs plugin
code on the event loop fails instead of hanging."""


def until(check: Callable[[], T | None]) -> T:
    """The first true value ``check`` returns (each call makes a request)."""
    for _ in range(POLLS):
        found = check()
        if found:
            return found
    raise AssertionError(f"still not so after {POLLS} polls")


def launched(channel: str, number: int = 1) -> dict[str, Any]:
    if number == 1:
        return message(
            channel, 1, "RocketLaunched", {"type": "F9", "launchSpeed": 1, "mission": "M"}
        )
    return message(channel, number, "RocketSpeedIncreased", {"by": 1})


def post(client: Client, body: dict[str, Any]) -> None:
    assert client.post("/messages", json=body).status_code == 202


def projection_info(client: Client, name: str) -> dict[str, Any]:
    listed = client.get("/projections").json()
    found: dict[str, Any] = next(p for p in listed if p["name"] == name)
    return found


def at(client: Client, name: str, position: int) -> Any:
    """The projection's answer once it has taken in the log up to ``position``."""

    def reached() -> Any:
        answer = client.get(f"/projections/{name}")
        if answer.status_code == 200 and int(answer.headers["x-position"]) >= position:
            return answer
        return None

    return until(reached)


def degraded(client: Client, what: str) -> dict[str, Any]:
    """``GET /health`` once it names ``what`` as stopped."""

    def named() -> dict[str, Any] | None:
        answer = client.get("/health")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body if any(s["what"] == what for s in body.get("stopped", ())) else None

    return until(named)


class Logged(logging.Handler):
    """The records of the ``rockets`` loggers (an app's logging setup replaces the root
    logger's handlers, pytest's included), from any thread."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self, level: int, text: str) -> list[str]:
        return [
            r.getMessage() for r in self.records if r.levelno == level and text in r.getMessage()
        ]


@pytest.fixture
def logged() -> Iterator[Logged]:
    with attached(Logged()) as handler:
        yield handler


# --- plugins that misbehave ----------------------------------------------------------------


class Tally(msgspec.Struct):
    seen: int = 0
    extra: Any = None


class Unencodable:
    """A projection whose value cannot be encoded from its second event on (finding 1)."""

    @hookimpl
    def register_projections(self) -> Sequence[ProjectionType[Any]]:
        def apply(value: Tally, event: Event[Any], state: RocketState) -> Tally:
            value.seen += 1
            if value.seen == 2:
                value.extra = object()  # msgspec cannot encode it
            return value

        return [ProjectionType(name="fragile", initial=Tally(), apply=apply)]


class Average(msgspec.Struct):
    speed: float


class Unservable:
    """A projection whose ``serve`` raises."""

    @hookimpl
    def register_projections(self) -> Sequence[ProjectionType[Any]]:
        def apply(value: Tally, event: Event[Any], state: RocketState) -> Tally:
            value.seen += 1
            return value

        def serve(value: Tally) -> Average:
            raise ZeroDivisionError("no average yet")

        return [ProjectionType(name="average", initial=Tally(), apply=apply, serve=serve)]


class Held:
    """A projection whose ``apply`` waits at a gate the test opens: a slow plugin."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.on_a_loop: list[bool] = []

    @hookimpl
    def register_projections(self) -> Sequence[ProjectionType[Any]]:
        def apply(value: Tally, event: Event[Any], state: RocketState) -> Tally:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                self.on_a_loop.append(False)
            else:
                self.on_a_loop.append(True)
            self.entered.set()
            self.gate.wait(HELD)
            value.seen += 1
            return value

        return [ProjectionType(name="held", initial=Tally(), apply=apply)]


class BrokenListener:
    @hookimpl
    def event_applied(self, event: Event[Any], state: RocketState) -> None:
        if event.channel == "bad":
            raise RuntimeError("listener bug")


class Heard:
    def __init__(self) -> None:
        self.channels: list[str] = []

    @hookimpl
    def event_applied(self, event: Event[Any], state: RocketState) -> None:
        self.channels.append(event.channel)


# --- finding 1: a projection's failure stops that projection only ---------------------------


def test_a_projection_whose_value_cannot_be_kept_stops_alone_and_says_so(logged: Logged) -> None:
    app = create_app(core_settings(), plugins=[Unencodable()])
    app.service.runner.save_every = 1  # kept after every event, as every 10,000th would be
    with TestClient(app) as client:
        for n in (1, 2, 3):
            post(client, launched(f"r{n}"))
            at(client, "fleet", n)  # one event at a time: the one it fails at is known
        fragile = until(
            lambda: (p := projection_info(client, "fragile"))["status"] == "stopped" and p
        )
        assert (fragile["position"], fragile["failedAt"]) == (2, 2)
        health = degraded(client, "projection 'fragile'")
        assert health["status"] == "degraded"
        (stopped,) = health["stopped"]
        assert (stopped["plugin"], stopped["event"]) == ("Unencodable", "position 2")
        assert "TypeError" in stopped["error"]
        # The follower goes on: the stream and the other projections get every event.
        post(client, launched("r4"))
        assert at(client, "fleet", 4).json()["rockets"] == 4
        assert app.service.hub.last == 4
        assert app.service.supervisor.running(FOLLOWER)
        # Told once, in one sentence, the same in the log and the API.
        (line,) = logged.lines(logging.ERROR, "projection 'fragile' stopped")
        assert line.splitlines()[0] == fragile["error"]
        assert fragile["error"].startswith(
            "plugin 'Unencodable': projection 'fragile' stopped at position 2: TypeError: "
        )
        plugins = {p["name"]: p for p in client.get("/plugins").json()["plugins"]}
        assert [s["what"] for s in plugins["Unencodable"]["stopped"]] == ["projection 'fragile'"]
        metrics = client.get("/metrics").text
        assert 'rockets_projection_stopped{name="fragile"} 1.0' in metrics
        assert (
            'rockets_plugin_faults_total{plugin="Unencodable",stopped="projection \'fragile\'"} 1.0'
            in metrics
        )
    # Shutdown succeeded (a failed lifespan shutdown raises out of the client).
    assert logged.lines(logging.INFO, "rockets stopped")


def test_a_projection_whose_serve_fails_is_a_500_naming_it(logged: Logged) -> None:
    with TestClient(create_app(core_settings(), plugins=[Unservable()])) as client:
        post(client, launched("r"))
        at(client, "fleet", 1)
        for _ in range(2):
            answer = client.get("/projections/average")
            assert answer.status_code == 500
            assert answer.json()["error"] == "internal"
            detail = answer.json()["detail"]
            assert detail.startswith("plugin 'Unservable': projection 'average' stopped at")
            assert "ZeroDivisionError: no average yet" in detail
        average = projection_info(client, "average")
        assert average["status"] == "stopped"
        assert average["error"] == detail
        assert degraded(client, "projection 'average'")["status"] == "degraded"
        assert len(logged.lines(logging.ERROR, "projection 'average' stopped")) == 1
        assert client.get("/projections/fleet").status_code == 200  # the others serve


# --- findings 3 and 4: plugin code runs off the request path --------------------------------


def test_a_slow_projection_lags_and_nothing_waits_for_it() -> None:
    held = Held()
    with TestClient(create_app(core_settings(), plugins=[held])) as client:
        for n in (1, 2, 3):
            post(client, launched(f"r{n}"))  # answered while the projection is held
        assert held.entered.wait(HANG_GUARD)
        health = client.get("/health")
        assert (health.status_code, health.json()["status"]) == (200, "ok")
        # Its value, never encoded yet, waits for its code: told so, not waited for.
        busy = client.get("/projections/held")
        assert busy.status_code == 503
        assert "projection 'held'" in busy.json()["detail"]
        assert "retry-after" in busy.headers
        assert client.get("/projections/fleet").status_code == 200
        assert client.get("/rockets/r3").status_code == 200
        assert projection_info(client, "held")["position"] == 0
        metrics = client.get("/metrics").text
        assert 'rockets_projection_lag_events{projection="held"} 3.0' in metrics
        held.gate.set()
        assert at(client, "held", 3).json()["seen"] == 3
        assert 'rockets_projection_lag_events{projection="held"} 0.0' in client.get("/metrics").text
    assert held.on_a_loop == [False, False, False]  # never in the event loop's thread


def test_shutdown_succeeds_while_a_projection_is_held(logged: Logged) -> None:
    held = Held()
    try:
        app = create_app(core_settings(store_timeout=0.2), plugins=[held])
        with TestClient(app) as client:
            client.get("/projections/held")  # encoded once at position 0
            post(client, launched("r"))
            assert held.entered.wait(HANG_GUARD)
            answer = client.get("/projections/held")  # what it had: no wait for its code
            assert (answer.status_code, answer.headers["x-position"]) == (200, "0")
    finally:
        held.gate.set()
    assert logged.lines(logging.WARNING, "projections not kept at shutdown")
    assert logged.lines(logging.INFO, "rockets stopped")


def test_projections_too_far_behind_are_stopped_at_what_could_not_wait() -> None:
    held = Held()
    app = create_app(core_settings(), plugins=[held])
    app.service.runner.max_events = 1
    with TestClient(app) as client:
        post(client, launched("r1"))
        assert held.entered.wait(HANG_GUARD)  # event 1 is being taken, and counts as waiting
        for n in (2, 3, 4):
            post(client, launched(f"r{n}"))  # no room: from event 2 on, they cannot wait
        held.gate.set()
        info = until(lambda: (p := projection_info(client, "held"))["status"] == "stopped" and p)
        assert (info["position"], info["failedAt"]) == (1, 2)
        assert "fell more than 1 events" in info["error"]
        assert projection_info(client, "fleet")["failedAt"] == 2
        assert degraded(client, "projection 'held'")["status"] == "degraded"
        post(client, launched("r5"))  # ingestion and the stream go on
        until(lambda: app.service.hub.last == 5)


# --- listeners -------------------------------------------------------------------------------


def test_a_listener_that_raises_is_stopped_alone_and_told_once(logged: Logged) -> None:
    heard = Heard()
    app = create_app(core_settings(), plugins=[BrokenListener(), heard])
    with TestClient(app) as client:
        for channel in ("ok", "bad", "later"):
            post(client, launched(channel))
        listeners = app.service.listeners
        assert listeners is not None
        assert listeners.idle(timeout=HANG_GUARD)
        assert heard.channels == ["ok", "bad", "later"]  # the other listener heard them all
        health = client.get("/health").json()
        assert health["status"] == "degraded"
        (stopped,) = health["stopped"]
        assert stopped["what"] == "listener of 'BrokenListener'"
        assert (stopped["plugin"], stopped["event"]) == ("BrokenListener", "bad#1")
        assert stopped["error"] == "RuntimeError: listener bug"
        post(client, launched("bad", 2))  # stopped: not called again
        assert listeners.idle(timeout=HANG_GUARD)
        assert app.service.hooks.listener_failures == 1
        (line,) = logged.lines(logging.ERROR, "listener of 'BrokenListener' stopped")
        assert line.startswith("plugin 'BrokenListener': listener of 'BrokenListener' stopped")
        plugins = {p["name"]: p for p in client.get("/plugins").json()["plugins"]}
        assert [s["what"] for s in plugins["BrokenListener"]["stopped"]] == [
            "listener of 'BrokenListener'"
        ]
        assert plugins["Heard"]["stopped"] == []


class GatedHooks:
    """Stands for the plugin hooks: its listener call waits at a gate."""

    def __init__(self) -> None:
        self.listener_plugins = ["slow"]
        self.gate = threading.Event()
        self.heard: list[int] = []

    def applied(self, registry: Any, events: list[Applied]) -> list[Any]:
        self.gate.wait(HELD)
        self.heard.extend(a.position for a in events)
        return []


def applied(position: int) -> Applied:
    now = datetime.now(UTC)
    record = Record(
        channel="c",
        message_number=position,
        message_type="RocketSpeedIncreased",
        message_time=now,
        received_at=now,
        payload=b'{"by":1}',
    )
    return Applied(position, record, RocketState(channel="c"))


@pytest.mark.anyio
async def test_listeners_too_far_behind_miss_events_counted_and_told_once(
    logged: Logged,
) -> None:
    hooks = GatedHooks()
    listeners = Listeners(hooks, None, Faults(), max_events=2)  # type: ignore[arg-type]
    listeners.start()
    try:
        for position in range(1, 6):
            listeners.offer([applied(position)])  # never waits, whatever the thread does
        # Two wait (the one being heard counts until it is heard): the others are dropped.
        assert listeners.dropped == 3
        hooks.gate.set()
        assert await listeners.drain(HANG_GUARD)
        assert hooks.heard == [1, 2]
        (line,) = logged.lines(logging.WARNING, "are dropped for them")
        assert "the listeners of 'slow'" in line
    finally:
        hooks.gate.set()
        listeners.close()


# --- supervised background work ----------------------------------------------------------------


@pytest.mark.anyio
async def test_a_supervised_task_that_fails_is_told_and_started_again() -> None:
    faults = Faults()
    supervisor = Supervisor(faults, first_wait=0, longest_wait=0)
    runs: list[int] = []
    restarted = asyncio.Event()
    proceed = asyncio.Event()

    async def work(beat: Beat) -> None:
        runs.append(len(runs) + 1)
        if len(runs) == 1:
            raise OSError("the first run fails")
        restarted.set()
        await proceed.wait()
        beat()  # progress: the fault is over
        await asyncio.Event().wait()  # and runs on

    supervisor.start("the worker", work)
    async with asyncio.timeout(HANG_GUARD):
        await restarted.wait()
    (fault,) = faults.open  # restarted, and told until it makes progress
    assert (fault.key, fault.error) == ("the worker", "OSError: the first run fails")
    proceed.set()
    async with asyncio.timeout(HANG_GUARD):
        while faults.open:
            await asyncio.sleep(0)
    assert supervisor.running("the worker")
    await supervisor.stop()
    assert not supervisor.running("the worker")
    assert runs == [1, 2]


@pytest.mark.anyio
async def test_stopping_never_fails_whatever_the_task_does() -> None:
    supervisor = Supervisor(Faults(), first_wait=3600)
    entered = asyncio.Event()

    async def stubborn(beat: Beat) -> None:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise ValueError("refuses to stop quietly") from None

    async def failing(beat: Beat) -> None:
        raise ValueError("fails, then waits an hour to run again")

    supervisor.start("stubborn", stubborn)
    supervisor.start("failing", failing)
    async with asyncio.timeout(HANG_GUARD):
        await entered.wait()
        while not supervisor.faults.open:
            await asyncio.sleep(0)
        await supervisor.stop()  # neither the task's error nor the long wait holds it
    assert not supervisor.running("stubborn")
    assert not supervisor.running("failing")


def test_the_log_follower_that_fails_is_told_and_goes_on_where_it_was(logged: Logged) -> None:
    app = create_app(core_settings())
    service = app.service
    service.supervisor.first_wait = service.supervisor.longest_wait = 0.01
    publish = service.hub.publish
    broken = threading.Event()
    broken.set()

    def failing(events: Any) -> None:
        if broken.is_set():
            raise RuntimeError("a bug in the stream")
        publish(events)

    service.hub.publish = failing  # type: ignore[method-assign]
    with TestClient(app) as client:
        post(client, launched("r"))
        health = degraded(client, FOLLOWER)
        (stopped,) = health["stopped"]
        assert stopped["error"] == "RuntimeError: a bug in the stream"
        assert "plugin" not in stopped  # rockets' own work
        assert client.post("/messages", json=launched("s")).status_code == 202  # ingest goes on
        broken.clear()
        until(lambda: client.get("/health").json()["status"] == "ok")
        assert service.hub.last == 2  # the batch it failed on, then the next: nothing lost
        assert at(client, "fleet", 2).json()["rockets"] == 2
    assert len(logged.lines(logging.ERROR, "the log follower stopped")) == 1
    assert logged.lines(logging.INFO, "the log follower runs again")


def test_metrics_run_no_plugin_code() -> None:
    calls: list[str] = []

    class Counted:
        @hookimpl
        def register_projections(self) -> Sequence[ProjectionType[Any]]:
            def apply(value: Tally, event: Event[Any], state: RocketState) -> Tally:
                return value

            def serve(value: Tally) -> Tally:
                calls.append("serve")
                return value

            return [ProjectionType(name="counted", initial=Tally(), apply=apply, serve=serve)]

    with TestClient(create_app(core_settings(), plugins=[Counted()])) as client:
        post(client, launched("r"))
        at(client, "fleet", 1)
        assert 'rockets_projection_lag_events{projection="counted"}' in client.get("/metrics").text
        client.get("/health")
        client.get("/projections")
        client.get("/plugins")
        assert calls == []
