"""Limits, backpressure, tokens, CORS and headers, through the app in-process."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Request, post
from litestar.testing import TestClient

from rockets import RocketsView, hookimpl
from rockets.app import RocketsApp, create_app
from rockets.http.edge import Edge, read_head
from rockets.settings import Settings

from ..conftest import core_settings, message
from ..gated_store import Answered, GatedStore

Client = TestClient[Any]
LAUNCH = {"type": "Falcon-9", "launchSpeed": 1, "mission": "M"}


def test_payload_strings_and_size_are_bounded(client: Client) -> None:
    long_mission = message("r", 1, "RocketLaunched", {**LAUNCH, "mission": "m" * 257})
    response = client.post("/messages", json=long_mission)
    assert response.status_code == 400
    assert response.json()["path"] == "$.message.mission"
    assert (
        client.post(
            "/messages", json=message("r", 1, "RocketLaunched", {**LAUNCH, "mission": "m" * 256})
        ).status_code
        == 202
    )


def test_payload_bytes_are_bounded() -> None:
    settings = core_settings(max_payload_bytes=100, plugins_dir=None)
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/messages", json=message("r", 1, "RocketExploded", {"reason": "x" * 200})
        )
    assert response.status_code == 400
    assert "at most 100" in response.json()["detail"]


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/json", 202),
        ("application/json; charset=utf-8", 202),
        ("application/vnd.rockets+json", 202),
        ("text/plain", 415),
        ("application/x-www-form-urlencoded", 415),
    ],
)
def test_content_type_must_be_json(client: Client, content_type: str, status: int) -> None:
    body = b'{"metadata": {"messageType": "RocketExploded"}, "message": {"reason": "x"}}'
    response = client.post("/messages", content=body, headers={"content-type": content_type})
    assert response.status_code == status
    if status == 415:
        assert response.json()["error"] == "unsupported_media_type"
        assert client.get("/rockets").json() == []


@pytest.mark.anyio
async def test_a_full_queue_is_503_with_retry_after_and_loses_nothing_taken() -> None:
    store = GatedStore()
    app = create_app(core_settings(worker_count=1, max_queue=4), store=store)
    service = app.service
    # httpx's ASGI transport runs requests concurrently in this loop (Litestar's test clients
    # run them one at a time); the service is started and stopped by hand.
    await service.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rockets") as client:
        bodies = [message(f"c{i}", 1, "RocketLaunched", LAUNCH) for i in range(12)]
        posts = [asyncio.create_task(client.post("/messages", json=b)) for b in bodies]
        answered = Answered()
        for post in posts:
            post.add_done_callback(answered)
        # The first four fill the worker's queue before it runs; it takes them as one group
        # and waits at the gate; everything that arrives meanwhile finds the queue full.
        await store.holding(1)
        await answered.reach(8)
        # Every request is accounted for, and none can move until the gate opens: four held
        # as one write at the gate, nothing queued, eight answered.
        assert store.held_messages == 4
        assert service.pool.queued == 0
        assert answered.count == sum(p.done() for p in posts) == 8
        held = [p for p in posts if not p.done()]
        assert len(held) == 4
        for post in posts:
            if post.done():
                response = post.result()
                assert response.status_code == 503
                assert response.headers["retry-after"] == "1"
                assert "over capacity" in response.json()["detail"]
        store.gate.set()
        responses = await asyncio.gather(*posts)
        assert [p.result().status_code for p in held] == [202] * 4  # the held ones are taken
        assert sorted(r.status_code for r in responses) == [202] * 4 + [503] * 8
        taken = {
            b["metadata"]["channel"]
            for b, r in zip(bodies, responses, strict=True)
            if r.status_code == 202
        }
        listed = {s["channel"] for s in (await client.get("/rockets")).json()}
        assert listed == taken
        assert len(taken) == 4
    await service.stop()


@pytest.fixture
def guarded() -> Iterator[Client]:
    settings = core_settings(ingest_token="in-secret", read_token="read-secret")
    with TestClient(create_app(settings)) as client:
        yield client


def test_ingest_needs_the_ingest_token(guarded: Client) -> None:
    body = message("r", 1, "RocketLaunched", LAUNCH)
    for headers in (
        {},
        {"authorization": "Bearer wrong"},
        {"authorization": "Basic in-secret"},
        {"authorization": "Bearer read-secret"},
    ):
        response = guarded.post("/messages", json=body, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"
        assert response.headers["www-authenticate"] == 'Bearer realm="rockets"'
    assert (
        guarded.post(
            "/messages", json=body, headers={"authorization": "Bearer in-secret"}
        ).status_code
        == 202
    )


def test_reads_need_a_token_when_a_read_token_is_set(guarded: Client) -> None:
    assert guarded.get("/rockets").status_code == 401
    assert (
        guarded.get("/rockets", headers={"authorization": "Bearer read-secret"}).status_code == 200
    )
    assert guarded.get("/rockets", headers={"authorization": "Bearer in-secret"}).status_code == 200
    assert guarded.get("/health").status_code == 200  # load balancers need no token


def test_reads_stay_open_with_only_an_ingest_token() -> None:
    with TestClient(create_app(core_settings(ingest_token="in-secret"))) as client:
        assert client.get("/rockets").status_code == 200
        assert (
            client.post("/messages", json=message("r", 1, "RocketLaunched", LAUNCH)).status_code
            == 401
        )


def test_cors_for_configured_origins() -> None:
    settings = core_settings(cors_origins=("https://dash.example",))
    with TestClient(create_app(settings)) as client:
        allowed = client.get("/rockets", headers={"origin": "https://dash.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://dash.example"
        assert "x-total-count" in allowed.headers["access-control-expose-headers"].lower()
        other = client.get("/rockets", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        preflight = client.options(
            "/messages",
            headers={
                "origin": "https://dash.example",
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type, authorization",
            },
        )
        assert preflight.status_code in (200, 204)
        # The front door answers both: a browser's POST carries its origin (the answer gets
        # CORS's headers), a sender's does not (it gets none).
        body = message("c", 1, "RocketLaunched", LAUNCH)
        posted = client.post("/messages", json=body, headers={"origin": "https://dash.example"})
        assert posted.status_code == 202
        assert posted.headers["access-control-allow-origin"] == "https://dash.example"
        again = client.post("/messages", json=body)
        assert again.json()["status"] == "duplicate"
        assert "access-control-allow-origin" not in again.headers


DASH = "https://dash.example"


@pytest.fixture
def cors_guarded() -> Iterator[tuple[RocketsApp, Client]]:
    settings = core_settings(cors_origins=(DASH,), ingest_token="in-secret")
    app = create_app(settings)
    with TestClient(app) as client:
        yield app, client


def test_the_edge_answers_preflights_on_every_path(cors_guarded: tuple[RocketsApp, Client]) -> None:
    _, client = cors_guarded
    asked = {"origin": DASH, "access-control-request-method": "POST"}
    for path in ("/messages", "/rockets", "/stream", "/nowhere"):
        allowed = client.options(path, headers=asked)  # no token: a preflight needs none
        assert allowed.status_code == 204
        assert allowed.headers["access-control-allow-origin"] == DASH
        assert allowed.headers["access-control-allow-methods"] == "GET, OPTIONS, POST"
        assert allowed.headers["vary"] == "Origin"
        assert allowed.headers["x-content-type-options"] == "nosniff"
        assert allowed.headers["x-request-id"]
    refused = client.options(
        "/messages",
        headers={
            "origin": "https://evil.example",
            "access-control-request-method": "DELETE",
            "access-control-request-headers": "x-mine",
        },
    )
    assert refused.status_code == 400
    assert refused.text == "Disallowed CORS method, Origin, headers"
    assert "access-control-allow-origin" not in refused.headers
    # Without an Origin, OPTIONS is Litestar's: what the path allows.
    assert client.options("/rockets").headers["allow"] == "GET, OPTIONS"


def test_the_front_door_answers_browsers_too(cors_guarded: tuple[RocketsApp, Client]) -> None:
    app, client = cors_guarded

    async def not_here(*_: Any) -> Any:
        raise AssertionError("POST /messages reached Litestar's route")

    app.ingress.answer_route = not_here  # type: ignore[method-assign]
    body = message("c", 1, "RocketLaunched", LAUNCH)
    browser = {"origin": DASH, "authorization": "Bearer in-secret"}
    posted = client.post("/messages", json=body, headers=browser)
    assert posted.status_code == 202
    assert posted.headers["access-control-allow-origin"] == DASH
    assert posted.headers["access-control-expose-headers"] == "Retry-After, X-Total-Count"
    # Its refusals carry CORS's headers as its acknowledgements do, and their own.
    unauthorized = client.post("/messages", json=body, headers={"origin": DASH})
    assert unauthorized.status_code == 401
    assert unauthorized.headers["www-authenticate"] == 'Bearer realm="rockets"'
    assert unauthorized.headers["access-control-allow-origin"] == DASH
    as_text = client.post(
        "/messages", content=b"{}", headers={**browser, "content-type": "text/plain"}
    )
    assert as_text.status_code == 415
    assert as_text.headers["access-control-allow-origin"] == DASH
    other = client.post(
        "/messages", json=body, headers={**browser, "origin": "https://evil.example"}
    )
    assert other.json()["status"] == "duplicate"
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize(
    ("method", "path", "authorization", "query", "allowed"),
    [
        ("POST", "/messages", b"Bearer in-secret", b"", True),
        ("POST", "/messages", b"bearer  in-secret ", b"", True),
        ("POST", "/messages", b"Bearer read-secret", b"", False),
        ("POST", "/messages", b"", b"access_token=in-secret", False),  # writes: header only
        ("GET", "/rockets", b"Bearer read-secret", b"", True),
        ("GET", "/rockets", b"Bearer in-secret", b"", True),
        ("GET", "/rockets", b"", b"access_token=read-secret", True),
        ("GET", "/rockets", b"Basic x", b"access_token=read%2Dsecret", True),
        ("GET", "/rockets", b"Bearer nope", b"access_token=read-secret", False),
        ("GET", "/rockets", b"", b"access_token=nope&access_token=read-secret", False),
        ("GET", "/health", b"", b"", True),
        ("GET", "/dashboard/app.js", b"", b"", True),
    ],
)
def test_one_reader_decides_the_tokens_for_every_path(
    method: str, path: str, authorization: bytes, query: bytes, allowed: bool
) -> None:
    # The front door and the routes' guard both ask Edge.authorized, of what read_head read.
    edge = Edge(core_settings(ingest_token="in-secret", read_token="read-secret"))
    headers = [(b"authorization", authorization)] if authorization else []
    scope = {"method": method, "path": path, "headers": headers, "query_string": query}
    assert edge.authorized(scope, read_head(scope)) is allowed


class SizedRoute:
    """A plugin whose route reads its whole body."""

    @hookimpl
    def register_routes(self, view: RocketsView) -> list[Any]:
        @post("/sized", status_code=200)
        async def sized(request: Request[Any, Any, Any]) -> dict[str, int]:
            return {"size": len(await request.body())}

        return [sized]


def test_routes_meet_the_body_limit() -> None:
    settings = core_settings(max_body_bytes=1000)
    with TestClient(create_app(settings, plugins=[SizedRoute()])) as client:
        assert client.post("/sized", content=b"x" * 1000).json() == {"size": 1000}
        declared = client.post("/sized", content=b"x" * 1001)
        assert declared.status_code == 413
        assert declared.json()["error"] == "too_large"
        streamed = client.post("/sized", content=iter([b"x" * 600, b"x" * 600]))
        assert streamed.status_code == 413
        assert streamed.json()["error"] == "too_large"


def test_the_app_is_built_whole_with_the_deadline_keeper_it_is_asked_for() -> None:
    assert create_app(core_settings()).edge.deadlines.enabled
    served = create_app(core_settings(), deadlines="server")
    assert not served.edge.deadlines.enabled  # the server keeps it
    assert served.ingress.edge is served.edge is served.streams.edge
    with pytest.raises(TypeError, match="service"):
        RocketsApp(route_handlers=[])  # type: ignore[call-arg]


def test_every_answer_carries_the_security_headers(client: Client) -> None:
    for response in (
        client.get("/rockets"),
        client.get("/nowhere"),
        client.post("/messages", content=b"{"),
        client.get("/"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
    page = client.get("/")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"


def test_stalled_channels_are_reported(client: Client) -> None:
    client.post("/messages", json=message("gap", 3, "RocketSpeedIncreased", {"by": 1}))
    client.post("/messages", json=message("gap", 5, "RocketSpeedIncreased", {"by": 1}))
    client.post("/messages", json=message("fine", 1, "RocketLaunched", LAUNCH))
    state = client.get("/rockets/gap").json()
    since = datetime.fromisoformat(state["waitingSince"])
    assert datetime.now(UTC) - since < timedelta(seconds=30)
    assert client.get("/rockets/fine").json()["waitingSince"] is None
    assert client.get("/stalled").json() == []  # not for 60 s yet
    (stalled,) = client.get("/stalled?minSeconds=0").json()
    assert (stalled["channel"], stalled["awaitedNumber"], stalled["pending"]) == ("gap", 1, 2)
    assert stalled["waitingSince"] == state["waitingSince"]
    client.post("/messages", json=message("gap", 1, "RocketLaunched", LAUNCH))
    client.post("/messages", json=message("gap", 2, "RocketSpeedIncreased", {"by": 1}))
    (still,) = client.get("/stalled?minSeconds=0").json()
    assert (still["awaitedNumber"], still["pending"]) == (4, 1)
    client.post("/messages", json=message("gap", 4, "RocketSpeedIncreased", {"by": 1}))
    assert client.get("/stalled?minSeconds=0").json() == []
    assert client.get("/rockets/gap").json()["waitingSince"] is None


def test_settings_reject_nonsense() -> None:
    from rockets.errors import SettingsError

    for env in (
        {"ROCKETS_REQUEST_TIMEOUT": "0"},
        {"ROCKETS_MAX_QUEUE": "-1"},
        {"WORKER_COUNT": "many"},
    ):
        with pytest.raises(SettingsError, match=next(iter(env))):
            Settings.from_env(env)


def test_reads_may_carry_the_token_in_the_query_but_writes_may_not(guarded: Client) -> None:
    assert guarded.get("/rockets?access_token=read-secret").status_code == 200
    assert guarded.get("/rockets?access_token=nope").status_code == 401
    body = message("r", 1, "RocketLaunched", LAUNCH)
    assert guarded.post("/messages?access_token=in-secret", json=body).status_code == 401


def test_the_dashboard_page_is_open_but_its_data_is_not(guarded: Client) -> None:
    assert guarded.get("/").status_code == 200
    assert guarded.get("/dashboard/app.js").status_code == 200
    assert guarded.get("/stream").status_code == 401


# --- answers given before the body is read: the app reads the rest first ----------------------

GUARD = 30.0  # seconds: only turns a hang into a failure, never decides a verdict
CHUNK = b"x" * 65536


class Exchange:
    """One request served by an app at the ASGI level: the body it is given chunk by chunk, what
    the app read of it before it began its answer, and the answer."""

    def __init__(self, chunks: Iterable[bytes], *, then_wait: bool = False) -> None:
        self.chunks = iter(chunks)
        self.then_wait = then_wait  # after the chunks, a client that sends nothing more
        self.read = 0
        self.read_before_answer: int | None = None
        self.status = 0
        self.headers: dict[bytes, bytes] = {}
        self.answered = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        chunk = next(self.chunks, None)
        if chunk is None:
            if self.then_wait:
                await asyncio.Event().wait()
            return {"type": "http.request", "body": b"", "more_body": False}
        self.read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.read_before_answer = self.read
            self.status = message["status"]
            self.headers = dict(message["headers"])
        elif not message.get("more_body"):
            self.answered.set()

    async def serve(self, app: RocketsApp, method: str, path: str, **headers: str) -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8088),
            "state": {},
        }
        await asyncio.wait_for(app(scope, self.receive, self.send), GUARD)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"content_type": "application/json"}, 401),
        ({"content_type": "text/plain", "authorization": "Bearer in-secret"}, 415),
        ({"content_type": "application/json", "authorization": "Bearer in-secret"}, 413),
    ],
)
def test_the_front_door_reads_the_rest_of_a_refused_body_before_answering(
    headers: dict[str, str], status: int
) -> None:
    app = create_app(core_settings(ingest_token="in-secret", max_body_bytes=100_000))
    exchange = Exchange([CHUNK] * 3)  # more than the limit, within twice of it
    asyncio.run(exchange.serve(app, "POST", "/messages", content_length="196608", **headers))
    assert exchange.status == status
    assert exchange.read_before_answer == 3 * len(CHUNK)
    assert exchange.headers[b"connection"] == b"close"


def test_the_front_door_reads_the_rest_of_a_streamed_body_over_the_limit() -> None:
    app = create_app(core_settings(max_body_bytes=100_000))
    exchange = Exchange([CHUNK] * 3)
    asyncio.run(
        exchange.serve(
            app, "POST", "/messages", content_type="application/json", transfer_encoding="chunked"
        )
    )
    assert exchange.status == 413
    assert exchange.read_before_answer == 3 * len(CHUNK)


def test_under_a_server_that_lingers_the_front_door_reads_nothing_more() -> None:
    app = create_app(core_settings(max_body_bytes=100_000), deadlines="server")
    exchange = Exchange([CHUNK] * 3)
    asyncio.run(
        exchange.serve(
            app, "POST", "/messages", content_type="application/json", content_length="196608"
        )
    )
    assert exchange.status == 413
    assert exchange.read_before_answer == 0  # rockets serve lingers after the answer instead
    assert exchange.headers[b"connection"] == b"close"


def test_what_the_app_reads_before_an_early_answer_is_bounded() -> None:
    settings = core_settings(max_body_bytes=100_000)
    app = create_app(settings)
    exchange = Exchange(itertools.repeat(CHUNK))  # a client that never stops sending
    asyncio.run(
        exchange.serve(
            app, "POST", "/messages", content_type="application/json", content_length="99999999"
        )
    )
    assert exchange.status == 413
    assert exchange.read_before_answer is not None
    assert settings.linger_bytes < exchange.read_before_answer <= settings.linger_bytes + len(CHUNK)
    assert exchange.headers[b"connection"] == b"close"  # the rest is not read: the end


def test_the_app_waits_for_the_rest_of_a_body_a_bounded_time() -> None:
    settings = core_settings(max_body_bytes=100_000, request_timeout=0.05)
    app = create_app(settings)
    exchange = Exchange([CHUNK], then_wait=True)  # a client that stops sending, mid-body
    asyncio.run(
        exchange.serve(app, "POST", "/messages", content_type="text/plain", content_length="196608")
    )
    assert exchange.answered.is_set()
    assert exchange.status == 415
    assert exchange.headers[b"connection"] == b"close"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("POST", "/nowhere", 404), ("POST", "/sized", 413), ("PUT", "/messages", 405)],
)
def test_a_route_answering_before_the_body_is_read_reads_the_rest_first(
    method: str, path: str, status: int
) -> None:
    app = create_app(core_settings(max_body_bytes=100_000), plugins=[SizedRoute()])
    exchange = Exchange([CHUNK] * 3)
    asyncio.run(exchange.serve(app, method, path, content_length="196608"))
    assert exchange.status == status
    assert exchange.read_before_answer == 3 * len(CHUNK)
    assert b"connection" not in exchange.headers  # all read: the connection may go on


def test_a_route_answering_a_request_without_a_body_reads_nothing() -> None:
    app = create_app(core_settings())
    exchange = Exchange([CHUNK])
    asyncio.run(exchange.serve(app, "GET", "/nowhere"))
    assert exchange.status == 404
    assert exchange.read == 0
