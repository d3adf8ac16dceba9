"""The SDK against the in-process app: every method, sync and async, errors and retries, the
walks through every rocket and event, the stream's events and timeouts over mock transports."""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import sys
import typing
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest
import rockets_client
from litestar import Litestar
from litestar.testing import AsyncTestClient, TestClient
from rockets_client import (
    PAYLOAD_TYPES,
    AsyncRocketsClient,
    BadRequestError,
    ConflictError,
    ConnectionFailedError,
    Envelope,
    InvalidResponseError,
    NotFoundError,
    PayloadTooLargeError,
    PluginsReport,
    Projected,
    ProjectionInfo,
    RateLimitedError,
    RejectedError,
    RetryPolicy,
    RocketExploded,
    RocketLaunched,
    RocketMissionChanged,
    RocketsClient,
    RocketSpeedDecreased,
    RocketSpeedIncreased,
    RocketState,
    StalledChannel,
    StatePoint,
    StreamedEvent,
    StreamIdleError,
    UnavailableError,
    as_state,
    compose_state,
    message,
)
from rockets_client.unasync import ASYNC_SOURCE, SYNC_SOURCE, sync_source
from rockets_fuel import FuelState, RocketRefueled

import rockets.client
from rockets import wire
from rockets.app import create_app
from rockets.errors import StoreError
from rockets.settings import Settings
from rockets.stores import MemoryStore

from ..conftest import EXAMPLE_PLUGIN, ROOT, core_settings
from ..plugin_objects import FailingProjection

FAST = RetryPolicy(attempts=4, backoff=0.001, max_delay=0.01)
LAUNCH = RocketLaunched(type="Falcon-9", launch_speed=500, mission="ARTEMIS")


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
def sdk(app: Litestar) -> Iterator[RocketsClient]:
    with TestClient(app) as http, RocketsClient(http=http, retry=FAST) as client:
        yield client


@pytest.fixture
async def async_sdk(app: Litestar) -> AsyncIterator[AsyncRocketsClient]:
    async with AsyncTestClient(app) as http, AsyncRocketsClient(http=http, retry=FAST) as client:
        yield client


def test_message_builds_the_wire_envelope() -> None:
    envelope = message(LAUNCH, channel="c", number=3, time="2022-02-02T19:39:05Z")
    assert msgspec.json.decode(msgspec.json.encode(envelope)) == {
        "metadata": {
            "messageType": "RocketLaunched",
            "channel": "c",
            "messageNumber": 3,
            "messageTime": "2022-02-02T19:39:05Z",
        },
        "message": {"type": "Falcon-9", "launchSpeed": 500, "mission": "ARTEMIS"},
    }
    bare = msgspec.json.decode(msgspec.json.encode(message(RocketExploded(reason="x"))))
    assert bare == {"metadata": {"messageType": "RocketExploded"}, "message": {"reason": "x"}}
    with pytest.raises(TypeError, match="message_type="):
        message({"site": "LZ-1"})


def test_every_method_sync(sdk: RocketsClient) -> None:
    assert sdk.send(RocketSpeedIncreased(by=10), channel="r", number=2).status == "accepted"
    ack = sdk.send(LAUNCH, channel="r", number=1)
    assert (ack.channel, ack.message_number, ack.status) == ("r", 1, "accepted")
    assert sdk.send(LAUNCH, channel="r", number=1).status == "duplicate"
    acks = sdk.send_batch(
        [
            message(RocketSpeedDecreased(by=5), channel="r", number=3),
            message(RocketMissionChanged(new_mission="MARS"), channel="r", number=4),
            message(LAUNCH, channel="other"),
        ]
    )
    assert [(a.channel, a.message_number, a.status) for a in acks] == [
        ("r", 3, "accepted"),
        ("r", 4, "accepted"),
        ("other", 1, "accepted"),
    ]
    rocket = sdk.rocket("r")
    assert isinstance(rocket, RocketState)
    assert (rocket.speed, rocket.mission, rocket.last_message_number) == (505, "MARS", 4)
    assert sdk.rocket("r", at=2).speed == 510
    page = sdk.rockets(sort="speed", order="desc")
    assert [s.channel for s in page.items] == ["r", "other"]
    assert page.total == 2
    limited = sdk.rockets(mission="MARS", limit=1)
    assert ([s.channel for s in limited.items], limited.total) == (["r"], 1)
    events = sdk.events("r", start=2, limit=2)
    assert [e.message_number for e in events.items] == [2, 3]
    assert events.total == 4
    assert msgspec.json.decode(events.items[0].message) == {"by": 10}
    health = sdk.health()
    assert (health.status, health.rockets) == ("ok", 2)


@pytest.mark.anyio
async def test_every_method_async(async_sdk: AsyncRocketsClient) -> None:
    assert (await async_sdk.send(LAUNCH, channel="a", number=1)).status == "accepted"
    acks = await async_sdk.send_batch(
        [message(RocketSpeedIncreased(by=1), channel="a", number=n) for n in (3, 2, 3)]
    )
    assert [a.status for a in acks] == ["accepted", "accepted", "duplicate"]
    assert (await async_sdk.rocket("a")).speed == 502
    assert (await async_sdk.rocket("a", at=1)).speed == 500
    page = await async_sdk.rockets(status="flying")
    assert ([s.channel for s in page.items], page.total) == (["a"], 1)
    events = await async_sdk.events("a")
    assert [e.message_type for e in events.items] == [
        "RocketLaunched",
        "RocketSpeedIncreased",
        "RocketSpeedIncreased",
    ]
    assert (await async_sdk.health()).status == "ok"
    with pytest.raises(NotFoundError):
        await async_sdk.rocket("nobody")


def test_errors_carry_the_server_error(sdk: RocketsClient) -> None:
    with pytest.raises(BadRequestError) as bad:
        sdk.send({"by": -1}, message_type="RocketSpeedIncreased", channel="r", number=1)
    assert bad.value.status == 400
    assert bad.value.path == "$.message.by"
    assert bad.value.detail is not None
    assert "$.message.by" in str(bad.value)
    with pytest.raises(BadRequestError) as unknown:
        sdk.send({}, message_type="Teleported")
    assert unknown.value.error is not None
    assert unknown.value.error.known_types is not None
    with pytest.raises(NotFoundError) as missing:
        sdk.rocket("nobody")
    assert missing.value.status == 404
    sdk.send(LAUNCH, channel="r", number=1)
    with pytest.raises(NotFoundError):
        sdk.rocket("r", at=5)
    with pytest.raises(ConflictError) as conflict:
        sdk.send(RocketExploded(reason="x"), channel="r", number=1)
    assert conflict.value.error is not None
    assert conflict.value.error.conflict is not None
    assert conflict.value.error.conflict.existing.message_type == "RocketLaunched"
    with pytest.raises(ConflictError) as batch_conflict:
        sdk.send_batch([message(RocketExploded(reason="x"), channel="r", number=1)] * 2)
    assert batch_conflict.value.acks is not None
    assert [a.status for a in batch_conflict.value.acks] == ["conflict", "conflict"]
    with pytest.raises(PayloadTooLargeError):
        sdk.send(RocketExploded(reason="x" * 2_000_000), channel="big", number=1)


def test_a_plugin_type_the_sdk_does_not_know() -> None:
    app = create_app(Settings(plugins_dir=str(ROOT / "docs" / "examples" / "plugins")))
    with TestClient(app) as http, RocketsClient(http=http) as sdk:
        sdk.send(LAUNCH, channel="l", number=1)
        ack = sdk.send({"site": "LZ-1"}, message_type="RocketLanded", channel="l", number=2)
        assert ack.status == "accepted"
        assert sdk.rocket("l").status == "landed"


@pytest.mark.parametrize("settings", [core_settings(max_pending_per_channel=1)])
def test_full_buffer_is_retried_then_reported(sdk: RocketsClient) -> None:
    sdk.send(RocketSpeedIncreased(by=1), channel="r", number=5)
    with pytest.raises(RateLimitedError) as limited:
        sdk.send(RocketSpeedIncreased(by=1), channel="r", number=6)
    assert limited.value.retry_after == 1.0
    with pytest.raises(RateLimitedError) as batch:
        sdk.send_batch([message(RocketSpeedIncreased(by=1), channel="r", number=n) for n in (1, 7)])
    assert batch.value.acks is not None
    # Message 1 was taken on the first try; the retries that followed saw it as a duplicate.
    assert [a.status for a in batch.value.acks] == ["duplicate", "rejected"]
    assert sdk.rocket("r").last_message_number == 1


# --- retries over a transport that fails, then lets requests through ------------------------


LOSE_ANSWER = "lose the answer"


class Flaky:
    """Answers the first ``failures`` requests itself (a connection error, a status, or
    ``LOSE_ANSWER``: pass the request on but drop the answer), then hands every request to the
    real app."""

    def __init__(self, target: TestClient[Any] | AsyncTestClient[Any], failures: list[Any]) -> None:
        self.target = target
        self.failures = failures
        self.calls = 0

    def fail(self, request: httpx.Request) -> httpx.Response | None:
        self.calls += 1
        if not self.failures:
            return None
        failure = self.failures.pop(0)
        if failure == LOSE_ANSWER:
            assert isinstance(self.target, TestClient)
            self.target.send(request)
            raise httpx.ReadError("connection reset")
        if isinstance(failure, int):
            return httpx.Response(
                failure,
                headers={"retry-after": "0"},
                json={"status": failure, "error": "x", "detail": "flaky"},
            )
        raise failure

    def sync(self, request: httpx.Request) -> httpx.Response:
        failed = self.fail(request)
        if failed is not None:
            return failed
        assert isinstance(self.target, TestClient)
        return self.target.send(request)

    async def asynchronous(self, request: httpx.Request) -> httpx.Response:
        failed = self.fail(request)
        if failed is not None:
            return failed
        assert isinstance(self.target, AsyncTestClient)
        return await self.target.send(request)


def flaky_sync(
    app: Litestar, failures: list[Any], retry: RetryPolicy | None = FAST
) -> Callable[[], Any]:
    def run(check: Callable[[RocketsClient, Flaky], None]) -> None:
        with TestClient(app) as target:
            flaky = Flaky(target, failures)
            transport = httpx.MockTransport(flaky.sync)
            with RocketsClient(str(target.base_url), transport=transport, retry=retry) as sdk:
                check(sdk, flaky)

    return run  # type: ignore[return-value]


def test_connection_errors_are_retried(app: Litestar) -> None:
    def check(sdk: RocketsClient, flaky: Flaky) -> None:
        assert sdk.send(LAUNCH, channel="r", number=1).status == "accepted"
        assert flaky.calls == 3
        assert sdk.rocket("r").speed == 500

    flaky_sync(app, [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])(check)


def test_429_and_503_are_retried(app: Litestar) -> None:
    def check(sdk: RocketsClient, flaky: Flaky) -> None:
        assert sdk.send_batch([message(LAUNCH, channel="r", number=1)])[0].status == "accepted"
        assert flaky.calls == 3

    flaky_sync(app, [503, 429])(check)


def test_a_lost_answer_is_safe_to_resend(app: Litestar) -> None:
    """The request reached the server but its answer was lost: the retry is a duplicate."""

    def check(sdk: RocketsClient, flaky: Flaky) -> None:
        assert sdk.send(LAUNCH, channel="r", number=1).status == "duplicate"
        assert flaky.calls == 2
        assert len(sdk.events("r").items) == 1

    flaky_sync(app, [LOSE_ANSWER])(check)


def test_retries_give_up(app: Litestar) -> None:
    def check(sdk: RocketsClient, flaky: Flaky) -> None:
        with pytest.raises(ConnectionFailedError):
            sdk.rockets()
        assert flaky.calls == 4

    flaky_sync(app, [httpx.ConnectError("refused")] * 10)(check)


def test_retry_can_be_switched_off(app: Litestar) -> None:
    def check(sdk: RocketsClient, flaky: Flaky) -> None:
        with pytest.raises(UnavailableError):
            sdk.rockets()
        assert flaky.calls == 1

    flaky_sync(app, [503], retry=None)(check)


def test_unnumbered_messages_are_never_resent(app: Litestar) -> None:
    def check(sdk: RocketsClient, flaky: Flaky) -> None:
        with pytest.raises(ConnectionFailedError):
            sdk.send(LAUNCH, channel="r")
        with pytest.raises(UnavailableError):
            sdk.send_batch([message(LAUNCH, channel="r", number=1), message(LAUNCH)])
        assert flaky.calls == 2

    # A read error may come after the server took the message: sending it again could number it
    # twice.
    flaky_sync(app, [httpx.ReadError("reset"), 503])(check)


def test_a_connection_that_never_opened_is_retried_for_any_message(app: Litestar) -> None:
    def check(sdk: RocketsClient, flaky: Flaky) -> None:
        assert sdk.send(LAUNCH, channel="r").message_number == 1
        assert flaky.calls == 2

    flaky_sync(app, [httpx.ConnectError("refused")])(check)


def test_an_answer_that_is_not_rockets_json_is_a_client_error(app: Litestar) -> None:
    def proxy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>maintenance</html>", headers={"retry-after": "nan"})

    sdk = RocketsClient("http://testserver", transport=httpx.MockTransport(proxy))
    with sdk, pytest.raises(InvalidResponseError, match="not a rockets answer"):
        sdk.rocket("r")


def test_a_nonsense_retry_after_falls_back_to_backoff(app: Litestar) -> None:
    calls = []

    def busy(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(
            503,
            headers={"retry-after": "nan"},
            json={"status": 503, "error": "unavailable", "detail": "busy"},
        )

    sdk = RocketsClient("http://testserver", transport=httpx.MockTransport(busy), retry=FAST)
    with sdk, pytest.raises(UnavailableError) as unavailable:
        sdk.rockets()
    assert unavailable.value.retry_after is None
    assert len(calls) == FAST.attempts


@pytest.mark.anyio
async def test_async_retries(app: Litestar) -> None:
    async with AsyncTestClient(app) as target:
        flaky = Flaky(target, [httpx.ConnectError("refused"), 503])
        transport = httpx.MockTransport(flaky.asynchronous)
        async with AsyncRocketsClient(str(target.base_url), transport=transport, retry=FAST) as sdk:
            assert (await sdk.send(LAUNCH, channel="r", number=1)).status == "accepted"
            assert flaky.calls == 3
        flaky.failures = [httpx.ConnectError("refused")] * 10
        async with AsyncRocketsClient(str(target.base_url), transport=transport, retry=None) as sdk:
            with pytest.raises(ConnectionFailedError):
                await sdk.rocket("r")


class DownStore(MemoryStore):
    async def ping(self) -> None:
        raise StoreError("down")


def test_health_reports_an_unavailable_store() -> None:
    with (
        TestClient(create_app(Settings(), store=DownStore())) as http,
        RocketsClient(http=http) as sdk,
    ):
        health = sdk.health()
    assert (health.status, health.detail) == ("unavailable", "down")


def test_retry_delay_honours_retry_after_and_caps() -> None:
    policy = RetryPolicy(backoff=0.1, max_delay=1.0)
    assert policy.delay(1, 0.5) == 0.5
    assert policy.delay(1, 30) == 1.0
    assert 0.05 <= policy.delay(1, None) <= 0.1
    assert 0.5 <= policy.delay(10, None) <= 1.0


def test_envelope_is_the_servers_own_struct() -> None:
    assert type(message(LAUNCH)) is Envelope is wire.Envelope  # the one the server decodes


def loaded_by(statement: str) -> set[str]:
    """The modules a fresh interpreter has loaded once it ran ``statement``."""
    probe = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return set(result.stdout.split())


def test_importing_the_sdk_loads_nothing_of_the_server() -> None:
    loaded = loaded_by("import rockets_client")
    assert "rockets_client.sync" in loaded
    assert {"litestar", "uvicorn", "pluggy", "prometheus_client"} & loaded == set()
    assert {name for name in loaded if name.split(".")[0].startswith("rockets")} == {
        name for name in loaded if name.split(".")[0] == "rockets_client"
    }


def test_rockets_client_is_the_sdk_under_its_former_name() -> None:
    assert rockets.client.__all__ == rockets_client.__all__
    assert all(
        getattr(rockets.client, n) is getattr(rockets_client, n) for n in rockets_client.__all__
    )
    loaded = loaded_by("import rockets.client")
    assert {n for n in loaded if n.split(".")[0] == "rockets"} == {
        "rockets", "rockets.client", "rockets.distribution",
    }  # fmt: skip
    assert {"litestar", "uvicorn", "pluggy"} & loaded == set()


def named_types(hint: Any, seen: set[type[Any]]) -> None:
    """Every class ``hint`` names (in unions, generics, aliases) and, for a Struct, the classes
    its fields name, into ``seen``."""
    if isinstance(hint, typing.TypeVar):
        named_types(hint.__bound__, seen)
        return
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        named_types(typing.get_args(hint)[0], seen)
        return
    for arg in typing.get_args(hint):
        named_types(arg, seen)
    kind = origin if isinstance(origin, type) else hint
    if not isinstance(kind, type) or kind in seen:
        return
    seen.add(kind)
    if issubclass(kind, msgspec.Struct):
        for field_type in typing.get_type_hints(kind).values():
            named_types(field_type, seen)


def test_every_type_a_user_meets_is_importable_from_the_package() -> None:
    """What the clients' methods take, return and raise (each SDK class they name, and those
    the Structs they return name in turn) is exported by ``rockets_client``."""
    seen: set[type[Any]] = set()
    for client in (RocketsClient, AsyncRocketsClient):
        named_types(client, seen)
        for name, method in inspect.getmembers(client, inspect.isfunction):
            if not name.startswith("_") or name == "__init__":
                for hint in typing.get_type_hints(method).values():
                    named_types(hint, seen)
    raised = {
        cls
        for cls in vars(rockets_client.errors).values()
        if isinstance(cls, type) and issubclass(cls, Exception)
    }
    for error in raised:
        for hint in typing.get_type_hints(error.__init__).values():
            named_types(hint, seen)
    ours = {cls for cls in seen | raised if cls.__module__.split(".")[0] == "rockets_client"}
    exported = {getattr(rockets_client, name) for name in rockets_client.__all__}
    assert {cls.__qualname__ for cls in ours - exported} == set()
    assert {
        rockets_client.StreamItem, rockets_client.SetAside, rockets_client.Stopped,
        rockets_client.RocketState, rockets_client.ConflictDetail, rockets_client.Page,
    } <= ours  # fmt: skip
    assert {StreamedEvent, StreamIdleError, RetryPolicy} <= exported


# --- the sync client is the async one without async ------------------------------------------


def test_the_sync_client_is_generated_from_the_async_one() -> None:
    assert SYNC_SOURCE.read_text() == sync_source(ASYNC_SOURCE.read_text()), (
        "sdk/src/rockets_client/sync.py is not what aio.py makes: "
        "run python sdk/src/rockets_client/unasync.py"
    )


def test_both_clients_have_the_same_methods() -> None:
    """Same names (``aclose`` is ``close``), parameters and docstrings: only ``async`` and the
    httpx types (``AsyncIterator`` is ``Iterator``, ``httpx.AsyncClient`` is ``httpx.Client``)
    tell them apart."""

    def methods(cls: type[Any]) -> dict[str, Any]:
        names = [n for n in dir(cls) if not n.startswith("_")] + ["__init__"]
        return {"close" if n == "aclose" else n: getattr(cls, n) for n in names}

    def awaited(method: Any) -> bool:
        return inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method)

    sync, aio = methods(RocketsClient), methods(AsyncRocketsClient)
    assert sorted(sync) == sorted(aio)
    for name, method in aio.items():
        signature = str(inspect.signature(method)).replace("Async", "")
        assert (signature, method.__doc__) == (
            str(inspect.signature(sync[name])),
            sync[name].__doc__,
        )
        assert not awaited(sync[name])
        assert awaited(method) is (name not in ("__init__", "payload")), name
    assert (AsyncRocketsClient.__doc__ or "").replace("Async", "") == RocketsClient.__doc__


# --- history, stalled, plugins ---------------------------------------------------------------


def test_history_stalled_and_plugins_decode_into_the_servers_structs(sdk: RocketsClient) -> None:
    sdk.send(LAUNCH, channel="r", number=1)
    sdk.send(RocketSpeedIncreased(by=10), channel="r", number=2)
    sdk.send(RocketSpeedIncreased(by=1), channel="gap", number=3)
    history = sdk.history("r")
    assert all(isinstance(point, StatePoint) for point in history)
    assert [(p.message_number, p.state.speed) for p in history] == [(1, 500), (2, 510)]
    assert [p.message_number for p in sdk.history("r", start=2, limit=1)] == [2]
    (stalled,) = sdk.stalled(min_seconds=0)
    assert isinstance(stalled, StalledChannel)
    assert (stalled.channel, stalled.awaited_number, stalled.pending) == ("gap", 1, 1)
    assert sdk.stalled() == []  # by the server's ROCKETS_STALL_SECONDS
    sdk.send(RocketSpeedIncreased(by=1), channel="gap2", number=2)
    paged = [sdk.stalled(min_seconds=0, limit=1, offset=n) for n in range(3)]
    assert [[s.channel for s in page] for page in paged] == [["gap"], ["gap2"], []]
    report = sdk.plugins()
    assert isinstance(report, PluginsReport)
    assert {t.name for t in report.message_types} == {
        "RocketLaunched", "RocketSpeedIncreased", "RocketSpeedDecreased",
        "RocketMissionChanged", "RocketExploded",
    }  # fmt: skip
    assert {p.source for p in report.plugins} == {"builtin"}


@pytest.mark.anyio
async def test_history_stalled_and_plugins_async(async_sdk: AsyncRocketsClient) -> None:
    await async_sdk.send(LAUNCH, channel="a", number=1)
    assert [p.state.speed for p in await async_sdk.history("a")] == [500]
    assert await async_sdk.stalled(min_seconds=0) == []
    assert len((await async_sdk.plugins()).message_types) == 5


def test_history_states_are_the_clients_state_type() -> None:
    app = create_app(Settings(), plugins=[EXAMPLE_PLUGIN])  # a plugin's state field, fuel
    with TestClient(app) as http, RocketsClient(http=http, state_type=FuelState) as sdk:
        sdk.send(RocketRefueled(amount=7), channel="f", number=1)
        (point,) = sdk.history("f")
    assert isinstance(point.state, FuelState)
    assert point.state.fuel == 7


# --- payloads ---------------------------------------------------------------------------------


def test_an_events_message_decodes_into_the_payload_struct_given() -> None:
    app = create_app(core_settings(plugins_dir=str(ROOT / "docs" / "examples" / "plugins")))
    with TestClient(app) as http:
        typed = RocketsClient(http=http, payload_types=PAYLOAD_TYPES)
        typed.send(LAUNCH, channel="r", number=1)
        typed.send(RocketSpeedIncreased(by=10), channel="r", number=2)
        typed.send({"site": "LZ-1"}, message_type="RocketLanded", channel="r", number=3)
        events = typed.events("r").items
        assert [typed.payload(e) for e in events] == [
            LAUNCH,
            RocketSpeedIncreased(by=10),
            {"site": "LZ-1"},  # a type the client has no Struct for
        ]
        untyped = RocketsClient(http=http)
        assert untyped.payload(events[1]) == {"by": 10}
        with pytest.raises(ConflictError) as conflict:
            typed.send(RocketExploded(reason="x"), channel="r", number=2)
    assert conflict.value.error is not None
    assert conflict.value.error.conflict is not None
    assert typed.payload(conflict.value.error.conflict.received) == RocketExploded(reason="x")


def test_a_payload_struct_that_does_not_fit_is_an_invalid_response(app: Litestar) -> None:
    class RocketLaunched(msgspec.Struct):  # the server's payload has no `countdown`
        countdown: int

    with TestClient(app) as http:
        stale = RocketsClient(http=http, payload_types=[RocketLaunched])
        stale.send(LAUNCH, channel="r", number=1)
        (event,) = stale.events("r").items
    with pytest.raises(InvalidResponseError, match="RocketLaunched payload does not fit"):
        stale.payload(event)


def test_two_payload_structs_for_one_type_are_refused() -> None:
    class RocketExploded(msgspec.Struct):
        why: str

    with pytest.raises(ValueError, match="two payload types name the messageType 'RocketExploded'"):
        RocketsClient(payload_types=[*PAYLOAD_TYPES, RocketExploded])


# --- where= is checked before it is sent -----------------------------------------------------


def counting_client(state_type: type[RocketState] = RocketState) -> tuple[RocketsClient, list[str]]:
    """A client whose server answers every request with an empty listing, and the URLs asked."""
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, json=[], headers={"x-total-count": "0"})

    transport = httpx.MockTransport(answer)
    return RocketsClient("http://testserver", transport=transport, state_type=state_type), asked


def test_an_unknown_where_key_is_refused_before_sending() -> None:
    sdk, asked = counting_client()
    with pytest.raises(ValueError, match=r"'last_site' is not a field of RocketState.*state_type="):
        sdk.rockets(where={"last_site": "LZ-1"})
    with pytest.raises(ValueError, match="write it by its JSON name, 'lastMessageNumber'"):
        sdk.rockets(where={"last_message_number": 3})
    with pytest.raises(ValueError, match="'fuel' is not a field of RocketState"):
        sdk.rockets(where={"fuel": 0})  # a plugin's field, but the client was not told of it
    assert asked == []
    sdk.rockets(where={"lastMessageNumber": 3})
    assert asked == [
        "http://testserver/rockets?sort=channel&order=asc&offset=0&lastMessageNumber=3"
    ]


def test_a_plugin_state_class_makes_its_fields_known_to_where() -> None:
    app = create_app(Settings(), plugins=[EXAMPLE_PLUGIN])
    with TestClient(app) as http, RocketsClient(http=http, state_type=FuelState) as sdk:
        sdk.send(RocketRefueled(amount=5), channel="full", number=1)
        sdk.send(LAUNCH, channel="empty", number=1)
        assert [r.channel for r in sdk.rockets(where={"fuel": 0}).items] == ["empty"]


# --- a plugin's refusal ---------------------------------------------------------------------


def test_a_plugins_refusal_is_a_rejected_error() -> None:
    app = create_app(core_settings(plugins_dir=str(ROOT / "docs" / "examples" / "hooks")))
    with TestClient(app) as http, RocketsClient(http=http) as sdk:
        with pytest.raises(RejectedError) as refused:
            sdk.send(RocketSpeedIncreased(by=20_000), channel="r", number=1)
        with pytest.raises(RejectedError) as batch:
            sdk.send_batch([message(RocketSpeedIncreased(by=20_000), channel="r", number=1)])
    assert (refused.value.status, refused.value.plugin) == (422, "speed_limit")
    assert refused.value.detail == "a speed increase of 20000 is more than 10000 at once"
    assert batch.value.plugin == "speed_limit"


# --- /health is a probe ----------------------------------------------------------------------


def test_health_is_sent_once_even_when_the_connection_fails(app: Litestar) -> None:
    def check(sdk: RocketsClient, flaky: Flaky) -> None:
        with pytest.raises(ConnectionFailedError):
            sdk.health()
        assert flaky.calls == 1
        assert sdk.health().status == "ok"

    flaky_sync(app, [httpx.ConnectError("refused")])(check)


# --- several plugins' state classes ----------------------------------------------------------


class LandingState(RocketState, frozen=True, kw_only=True):
    site: str | None = None
    landings: list[str] = msgspec.field(default_factory=list, name="landingSites")


class OtherFuel(RocketState, frozen=True, kw_only=True):
    fuel: float = 0.0


def test_two_state_classes_cannot_be_joined_by_inheritance() -> None:
    with pytest.raises(TypeError, match="lay-out conflict"):
        type("Both", (LandingState, FuelState), {})


def test_compose_state_joins_their_fields_with_types_defaults_and_json_names() -> None:
    both = compose_state(LandingState, FuelState)
    assert issubclass(both, RocketState)
    assert both.__name__ == "LandingStateAndFuelState"
    blank = msgspec.json.decode(b'{"channel": "c"}', type=both)
    assert (blank.site, blank.landings, blank.fuel) == (None, [], 0)
    state = msgspec.json.decode(
        b'{"channel": "c", "speed": 3, "site": "LZ-1", "landingSites": ["LZ-1"], "fuel": 9}',
        type=both,
    )
    assert as_state(state, LandingState) == LandingState(
        channel="c", speed=3, site="LZ-1", landings=["LZ-1"]
    )
    assert as_state(state, FuelState).fuel == 9
    with pytest.raises(msgspec.ValidationError, match=r"\$.fuel"):
        msgspec.json.decode(b'{"channel": "c", "fuel": "full"}', type=both)
    assert compose_state(FuelState, FuelState, name="Fuel").__name__ == "Fuel"


def test_compose_state_refuses_what_it_cannot_join() -> None:
    with pytest.raises(TypeError, match=r"FuelState.fuel and OtherFuel.fuel differ"):
        compose_state(FuelState, OtherFuel)
    with pytest.raises(TypeError, match="not a subclass of RocketState"):
        compose_state(FuelState, Envelope)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="at least one"):
        compose_state()


# --- projections ------------------------------------------------------------------------------


class FleetCounts(msgspec.Struct, frozen=True, rename="camel"):
    """Part of what the standard fleet projection serves: the fields a client leaves out of its
    own Struct are ignored."""

    rockets: int
    by_status: dict[str, int]


def projected_at(sdk: RocketsClient, name: str, position: int) -> Projected[FleetCounts]:
    """The fleet once it has taken in the log up to ``position`` (it follows the log)."""
    while True:
        fleet = sdk.projection(name, FleetCounts)
        if fleet.position >= position:
            return fleet


def test_a_projection_decodes_into_the_type_given_with_its_position(sdk: RocketsClient) -> None:
    sdk.send(LAUNCH, channel="a", number=1)
    sdk.send(LAUNCH, channel="b", number=1)
    sdk.send(RocketExploded(reason="x"), channel="b", number=2)
    fleet = projected_at(sdk, "fleet", 3)
    assert isinstance(fleet, Projected)
    assert fleet == Projected(FleetCounts(2, {"flying": 1, "exploded": 1}), 3)
    plain = sdk.projection("fleet")  # without a type: the JSON object as a dict
    assert plain.position == 3
    assert (plain.value["rockets"], plain.value["byStatus"]) == (2, {"flying": 1, "exploded": 1})
    (info,) = sdk.projections()
    assert isinstance(info, ProjectionInfo)
    assert (info.name, info.plugin, info.status, info.position) == (
        "fleet",
        "rocket_fleet",
        "running",
        3,
    )
    for missing in ("nothing", "fleet/x", "Fleet"):
        with pytest.raises(NotFoundError):
            sdk.projection(missing)


@pytest.mark.anyio
async def test_projections_async(async_sdk: AsyncRocketsClient) -> None:
    await async_sdk.send(LAUNCH, channel="a", number=1)
    while (fleet := await async_sdk.projection("fleet", FleetCounts)).position < 1:
        pass
    assert fleet.value == FleetCounts(1, {"flying": 1})
    assert (await async_sdk.projection("fleet")).value["rockets"] == 1
    assert [p.name for p in await async_sdk.projections()] == ["fleet"]
    with pytest.raises(NotFoundError):
        await async_sdk.projection("nothing")


def test_a_stopped_projection_reads_with_where_it_failed() -> None:
    app = create_app(core_settings(), plugins=[FailingProjection()])
    with TestClient(app) as http, RocketsClient(http=http) as sdk:
        sdk.send(LAUNCH, channel="good", number=1)
        sdk.send(LAUNCH, channel="bad", number=1)
        sdk.send(LAUNCH, channel="later", number=1)
        while (seen := {p.name: p for p in sdk.projections()}["seen"]).status == "running":
            pass
        assert (seen.position, seen.failed_at) == (1, 2)
        assert seen.error is not None
        assert "ValueError: no bad rockets" in seen.error
        assert sdk.projection("seen") == Projected({"n": 1}, 1)  # its value as of position 1
        report = sdk.plugins()
        assert {p.name: p.failed_at for p in report.projections}["seen"] == 2


def test_a_projection_answer_without_its_position_is_an_invalid_response() -> None:
    def proxy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"rockets": 0, "byStatus": {}})

    sdk = RocketsClient("http://testserver", transport=httpx.MockTransport(proxy))
    with sdk, pytest.raises(InvalidResponseError, match="X-Position"):
        sdk.projection("fleet", FleetCounts)


# --- walks through every rocket and every event -----------------------------------------------


class BetweenPages:
    """Hands every request to the app; before each page of ``GET /rockets`` or of a rocket's
    events but the first, runs ``meanwhile(page)``: what other clients do during the walk."""

    def __init__(self, target: TestClient[Any], meanwhile: Callable[[int], None]) -> None:
        self.target = target
        self.meanwhile = meanwhile
        self.pages = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path.startswith("/rockets"):
            if self.pages:
                self.meanwhile(self.pages)
            self.pages += 1
        return self.target.send(request)


def walking(target: TestClient[Any], meanwhile: Callable[[int], None]) -> RocketsClient:
    transport = httpx.MockTransport(BetweenPages(target, meanwhile))
    return RocketsClient(str(target.base_url), transport=transport)


EXISTING = [f"m-{n:02}" for n in range(23)]


def test_the_walk_sees_every_rocket_once_while_rockets_are_created(app: Litestar) -> None:
    with TestClient(app) as target, RocketsClient(http=target) as sdk:
        sdk.send_batch([message(LAUNCH, channel=channel, number=1) for channel in EXISTING])

        def meanwhile(page: int) -> None:
            # Two rockets before every existing one push the rest of the listing two further;
            # one among those walked already, one more.
            created = [f"a-{page}-1", f"a-{page}-2", f"m-00-{page}"]
            sdk.send_batch([message(LAUNCH, channel=channel, number=1) for channel in created])

        with walking(target, meanwhile) as walker:
            walked = [state.channel for state in walker.iter_rockets(page_size=5)]
            pages = walker.rockets().total
    assert [channel for channel in walked if channel in EXISTING] == EXISTING  # each once
    assert len(walked) == len(set(walked))
    assert walked == sorted(walked)
    assert pages > len(EXISTING)  # rockets were created meanwhile


def test_the_walk_keeps_its_place_when_rockets_stop_matching(app: Litestar) -> None:
    walked: list[str] = []
    exploded: list[str] = []
    with TestClient(app) as target, RocketsClient(http=target) as sdk:
        sdk.send_batch([message(LAUNCH, channel=channel, number=1) for channel in EXISTING])

        def meanwhile(page: int) -> None:
            # Up to three rockets walked already explode: the flying ones after them move
            # back, past the offset of the next page.
            gone = [channel for channel in walked if channel not in exploded][:3]
            boom = RocketExploded(reason="x")
            sdk.send_batch([message(boom, channel=channel, number=2) for channel in gone])
            exploded.extend(gone)

        with walking(target, meanwhile) as walker:
            for state in walker.iter_rockets(status="flying", page_size=4):
                walked.append(state.channel)
    assert walked == EXISTING  # each once: none skipped when the listing moved back
    assert len(exploded) > 10


def test_the_walk_through_a_rockets_events_takes_in_those_applied_meanwhile(
    app: Litestar,
) -> None:
    with TestClient(app) as target, RocketsClient(http=target) as sdk:
        sdk.send(LAUNCH, channel="r", number=1)
        sdk.send_batch(
            [message(RocketSpeedIncreased(by=1), channel="r", number=n) for n in range(2, 8)]
        )

        def meanwhile(page: int) -> None:
            sdk.send(RocketSpeedIncreased(by=1), channel="r", number=7 + page)

        with walking(target, meanwhile) as walker:
            numbers = [event.message_number for event in walker.iter_events("r", page_size=3)]
        assert numbers == list(range(1, len(numbers) + 1))
        assert len(numbers) > 7
        assert [e.message_number for e in sdk.iter_events("r", start=5, page_size=2)][:3] == [
            5,
            6,
            7,
        ]
        with pytest.raises(ValueError, match="page_size must be at least 1"):
            next(sdk.iter_rockets(page_size=0))


@pytest.mark.anyio
async def test_the_walks_async(async_sdk: AsyncRocketsClient) -> None:
    await async_sdk.send_batch([message(LAUNCH, channel=f"w-{n}", number=1) for n in range(7)])
    await async_sdk.send(RocketExploded(reason="x"), channel="w-3", number=2)
    flying = [state.channel async for state in async_sdk.iter_rockets(status="flying", page_size=2)]
    assert flying == ["w-0", "w-1", "w-2", "w-4", "w-5", "w-6"]
    events = [event.message_type async for event in async_sdk.iter_events("w-3", page_size=1)]
    assert events == ["RocketLaunched", "RocketExploded"]


# --- the stream's events and timeouts, over mock transports -----------------------------------

SSE = {"content-type": "text/event-stream"}


def applied(position: str, state: RocketState) -> bytes:
    """One ``applied`` event of ``/stream`` as the server writes it."""
    event = rockets_client.EventView(
        message_number=1,
        message_type="RocketLaunched",
        message_time=datetime(2022, 2, 2, tzinfo=UTC),
        received_at=datetime(2022, 2, 2, tzinfo=UTC),
        message=msgspec.Raw(msgspec.json.encode(LAUNCH)),
    )
    data = msgspec.json.encode(StreamedEvent(channel=state.channel, event=event, state=state))
    return b"id: " + position.encode() + b"\nevent: applied\ndata: " + data + b"\n\n"


def test_the_stream_reads_an_event_whose_text_holds_other_line_breaks() -> None:
    """U+2028 and U+0085 end a line for httpx's ``iter_lines``, not in server-sent events: a
    mission holding one reads back whole."""
    mission = "LINE\u2028SEPARATED\x85NEXT"
    body = b"retry: 1000\n\n: ping\n\n" + applied(
        "run-1", RocketState(channel="r", mission=mission)
    )

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=SSE, content=body)

    with RocketsClient("http://testserver", transport=httpx.MockTransport(answer)) as sdk:
        stream = sdk.stream()
        item = next(stream)
        stream.close()
    assert item.id == "run-1"
    assert isinstance(item.data, StreamedEvent)
    assert item.data.state.mission == mission


def silent(asked: list[httpx.Request]) -> httpx.MockTransport:
    """A server that never sends a byte: each read gives up after its read timeout."""

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        raise httpx.ReadTimeout("nothing came", request=request)

    return httpx.MockTransport(answer)


def test_an_idle_timeout_ends_a_silent_stream_with_an_error() -> None:
    asked: list[httpx.Request] = []
    with RocketsClient("http://testserver", transport=silent(asked), retry=FAST) as sdk:
        with pytest.raises(StreamIdleError, match=r"nothing from the server for 2\.5 s"):
            next(sdk.stream(idle_timeout=2.5))
        assert len(asked) == 1  # not opened again
        assert asked[0].extensions["timeout"]["read"] == 2.5  # the silence a read waits
        # Without one, silence means a dead connection: opened again, under the retry policy.
        with pytest.raises(ConnectionFailedError):
            next(sdk.stream())
        assert len(asked) == 1 + FAST.attempts
        with pytest.raises(ValueError, match="idle_timeout must be more than 0"):
            next(sdk.stream(idle_timeout=0))


def test_a_timeout_bounds_every_wait_of_the_stream() -> None:
    asked: list[httpx.Request] = []
    with RocketsClient("http://testserver", transport=silent(asked), retry=FAST) as sdk:
        assert list(sdk.stream(timeout=0)) == []  # over before it began: nothing asked
        assert asked == []
        with pytest.raises(StreamIdleError):
            next(sdk.stream(timeout=300, idle_timeout=60))
    timeouts = asked[0].extensions["timeout"]
    assert 0 < timeouts["read"] <= 60
    assert 0 < timeouts["connect"] <= 10


class Endless(httpx.AsyncByteStream):
    """A stream that sends its first bytes, then nothing, and never ends."""

    def __init__(self, first: bytes) -> None:
        self.first = first

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.first
        await asyncio.Event().wait()


@pytest.mark.anyio
async def test_a_timeout_ends_the_async_stream_cleanly_while_it_waits() -> None:
    asked: list[httpx.Request] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return httpx.Response(
            200, headers=SSE, stream=Endless(applied("run-7", RocketState(channel="r")))
        )

    transport = httpx.MockTransport(answer)
    async with AsyncRocketsClient("http://testserver", transport=transport) as sdk:
        items = [item.id async for item in sdk.stream(timeout=0.5)]
    assert items == ["run-7"]
    assert len(asked) == 1  # the stream stopped: not opened again


@pytest.mark.anyio
async def test_an_idle_timeout_ends_a_silent_async_stream_with_an_error() -> None:
    asked: list[httpx.Request] = []
    async with AsyncRocketsClient("http://testserver", transport=silent(asked)) as sdk:
        with pytest.raises(StreamIdleError):
            async for _ in sdk.stream(idle_timeout=1):
                pass
    assert asked[0].extensions["timeout"]["read"] == 1
