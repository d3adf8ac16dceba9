"""The OpenAPI document against what the server sends: every answer of every route, whatever
its status, is declared for its operation, with the content type it is sent with and every
header declared for it; and every status an operation declares is one a request was seen to
get (but those the list below explains)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

import httpx
import msgspec
import pytest
from litestar.testing import TestClient

from rockets.app import RocketsApp, create_app
from rockets.errors import StoreError
from rockets.records import Record
from rockets.settings import Settings
from rockets.state import RocketState
from rockets.stores import MemoryStore
from rockets.stores.base import Backlog, Waiting
from rockets.wire import RocketQuery

from ..conftest import ROOT, message

Client = TestClient[Any]
LAUNCH = {"type": "Falcon-9", "launchSpeed": 500, "mission": "ARTEMIS"}
# The example package's `fuel` and the docs' example hooks (a validator, for the 422).
SETTINGS = Settings(
    plugins_dir=str(ROOT / "docs" / "examples" / "hooks"), plugin_modules=("rockets_fuel.plugin",)
)

NOT_SEEN_HERE = {
    # The deadline on a request's head is rockets serve's: tests/system/test_slow_clients.py
    # checks that every operation declares the 408 it sends.
    (method, path, 408)
    for method, path in [
        ("get", "/rockets"),
        ("get", "/rockets/{channel}"),
        ("get", "/rockets/{channel}/events"),
        ("get", "/rockets/{channel}/history"),
        ("get", "/stream"),
        ("get", "/metrics"),
        ("get", "/health"),
        ("get", "/stalled"),
        ("get", "/plugins"),
        ("get", "/projections"),
        ("get", "/projections/fleet"),
    ]
} | {
    ("post", "/messages", 408),  # the same deadline, on the body: tests/system/test_e2e.py
    ("get", "/plugins", 500),  # its answer is made when the app is built: no store, no bug
    ("get", "/stream", 500),  # the hub is in memory: no store either
    # Projections are kept in memory and fed by the follower: a read touches no store; what a
    # projection whose serve fails (500) or whose code is busy (503) answers is in
    # tests/unit/test_supervision.py.
    ("get", "/projections", 500),
    ("get", "/projections/fleet", 500),
    ("get", "/projections/fleet", 503),
}


class SwitchableStore(MemoryStore):
    """A memory store that fails every call with ``failure`` once it is set: a StoreError (the
    database is down: 503) or any other exception (a bug: 500)."""

    failure: Exception | None = None

    def _check(self) -> None:
        if self.failure is not None:
            raise self.failure

    async def ping(self) -> None:
        self._check()
        await super().ping()

    async def rocket(self, channel: str) -> RocketState | None:
        self._check()
        return await super().rocket(channel)

    async def rockets(self, query: RocketQuery) -> tuple[int, list[RocketState]]:
        self._check()
        return await super().rockets(query)

    async def events(self, channel: str, start: int, limit: int) -> list[Record]:
        self._check()
        return await super().events(channel, start, limit)

    async def count(self) -> int:
        self._check()
        return await super().count()

    async def stalled(
        self, min_seconds: float, limit: int | None = None, offset: int = 0
    ) -> tuple[int, list[Waiting]]:
        self._check()
        return await super().stalled(min_seconds, limit, offset)

    async def backlog(self, stall_seconds: float) -> Backlog:
        self._check()
        return await super().backlog(stall_seconds)

    def group(self, channels: Sequence[str]) -> Any:
        self._check()
        return super().group(channels)


class Seen:
    """Every answer checked against the document of the app that sent it, and which (method,
    path, status) it covered."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = {}
        self.declared: set[tuple[str, str, int]] = set()
        self.covered: set[tuple[str, str, int]] = set()

    def read(self, client: Client) -> None:
        """Check what follows against ``client``'s app's document (a token app's too)."""
        headers = {"authorization": "Bearer i"}
        self.document = client.get("/schema/openapi.json", headers=headers).json()
        self.declared |= {
            (method, template, int(code))
            for template, operations in self.document["paths"].items()
            for method, operation in operations.items()
            for code in operation["responses"]
        }

    def check(self, method: str, template: str, response: httpx.Response) -> None:
        status = response.status_code
        path = self.document["paths"][template]
        # A method the path does not take is answered 405 for the path: every operation of
        # the path declares it.
        operations = [method] if method in path else list(path)
        for name in operations:
            where = f"{name.upper()} {template} -> {status}"
            declared = path[name]["responses"].get(str(status))
            assert declared is not None, f"{where}: not declared"
            sent = response.headers.get("content-type", "")
            assert sent.count("charset=") <= 1, f"{where}: content-type {sent!r}"
            types = {t.partition(";")[0].strip() for t in declared.get("content") or {}}
            assert sent.partition(";")[0].strip() in types, f"{where}: sent {sent!r}, not {types}"
            for header in declared.get("headers") or {}:
                assert header.lower() in response.headers, f"{where}: no {header} header"
            self.covered.add((name, template, status))

    def uncovered(self) -> set[tuple[str, str, int]]:
        """What the core's routes declare and no answer showed (plugins' routes are theirs)."""
        core = {*READS, "/messages"}
        declared = {(m, template, s) for m, template, s in self.declared if template in core}
        return declared - self.covered - NOT_SEEN_HERE


@pytest.fixture
def document() -> Iterator[dict[str, Any]]:
    with TestClient(create_app(SETTINGS)) as client:
        yield client.get("/schema/openapi.json").json()


READS = {
    "/rockets": "/rockets",
    "/rockets/{channel}": "/rockets/r",
    "/rockets/{channel}/events": "/rockets/r/events",
    "/rockets/{channel}/history": "/rockets/r/history",
    "/stream": "/stream",
    "/metrics": "/metrics",
    "/health": "/health",
    "/stalled": "/stalled",
    "/plugins": "/plugins",
    "/projections": "/projections",
    "/projections/fleet": "/projections/fleet",
}


def post(client: Client, body: Any, **kwargs: Any) -> httpx.Response:
    return client.post("/messages", json=body, **kwargs)


def end_streams(app: RocketsApp, client: Client, *, gate: bool) -> None:
    """End the live stream (a GET /stream then ends at once) or, with ``gate``, take no new
    one (a GET /stream then gets 503), as a stop does, in the app's event loop."""
    call = app.streams.close if gate else app.service.hub.close
    client.blocking_portal.call(call)


def test_every_answer_is_declared_with_its_content_type_and_headers() -> None:
    seen = Seen()
    app = create_app(SETTINGS.with_values(max_pending_per_channel=1, max_body_bytes=4096))
    with TestClient(app) as client:
        seen.read(client)
        seen.check("post", "/messages", post(client, message("r", 1, "RocketLaunched", LAUNCH)))
        for template, url in READS.items():
            if template == "/stream":
                continue  # below, once it ends
            seen.check("get", template, client.get(url))
            seen.check("get", template, client.get(url, params={"bogus": "1"}))
            seen.check("delete", template, client.delete(url))
            many = {f"x-{i}": "1" for i in range(app.edge.max_headers + 1)}
            seen.check("get", template, client.get(url, headers=many))
            if "{channel}" in template:
                seen.check("get", template, client.get(url.replace("/r", "/nobody", 1)))
        seen.check("get", "/stream", client.get("/stream", params={"bogus": "1"}))
        seen.check("head", "/stream", client.head("/stream"))
        many = {f"x-{i}": "1" for i in range(app.edge.max_headers + 1)}
        seen.check("get", "/stream", client.get("/stream", headers=many))
        seen.check("post", "/messages", post(client, "not a message"))
        seen.check("delete", "/messages", client.delete("/messages"))
        seen.check(
            "post", "/messages", post(client, message("r", 1, "RocketExploded", {"reason": "x"}))
        )
        seen.check("post", "/messages", client.post("/messages", content=b"x" * 5000))
        seen.check(
            "post",
            "/messages",
            client.post("/messages", content=b"{}", headers={"content-type": "text/plain"}),
        )
        seen.check(
            "post",
            "/messages",
            post(client, message("r", 2, "RocketSpeedIncreased", {"by": 10**6})),
        )
        seen.check(
            "post", "/messages", post(client, message("r", 3, "RocketSpeedIncreased", {"by": 1}))
        )
        seen.check(
            "post", "/messages", post(client, message("r", 4, "RocketSpeedIncreased", {"by": 1}))
        )
        seen.check("post", "/messages", client.post("/messages", content=b"{}", headers=many))
        end_streams(app, client, gate=False)
        seen.check("get", "/stream", client.get("/stream"))
        end_streams(app, client, gate=True)
        seen.check("get", "/stream", client.get("/stream"))
    with TestClient(create_app(SETTINGS.with_values(ingest_token="i", read_token="r"))) as client:
        seen.read(client)
        seen.check("post", "/messages", post(client, message("r", 1, "RocketLaunched", LAUNCH)))
        for template, url in READS.items():
            if template != "/health":  # open to all
                seen.check("get", template, client.get(url))
    store = SwitchableStore()
    with TestClient(create_app(SETTINGS, store=store)) as client:
        seen.read(client)
        post(client, message("r", 1, "RocketLaunched", LAUNCH))
        for failure in (StoreError("the database is down"), RuntimeError("a bug")):
            store.failure = failure
            seen.check(
                "post",
                "/messages",
                post(client, message("r", 2, "RocketExploded", {"reason": "x"})),
            )
            for template, url in READS.items():
                if template != "/stream":
                    seen.check("get", template, client.get(url))
            store.failure = None
    assert seen.uncovered() == set()


def test_the_token_errors_are_declared_only_where_a_token_is_set() -> None:
    def declares_401(settings: Settings) -> dict[str, bool]:
        with TestClient(create_app(settings)) as client:
            paths = client.get("/schema/openapi.json", headers={"authorization": "Bearer r"})
        return {
            f"{method.upper()} {template}": "401" in operation["responses"]
            for template, operations in paths.json()["paths"].items()
            for method, operation in operations.items()
            if template in {*READS, "/messages"}  # not a plugin's route: its own to document
        }

    assert not any(declares_401(SETTINGS).values())
    ingest_only = declares_401(SETTINGS.with_values(ingest_token="i"))
    assert {name for name, declared in ingest_only.items() if declared} == {"POST /messages"}
    both = declares_401(SETTINGS.with_values(ingest_token="i", read_token="r"))
    assert {name for name, declared in both.items() if not declared} == {"GET /health"}


def test_schema_names_are_the_classes_own(document: dict[str, Any]) -> None:
    names = list(document["components"]["schemas"])
    assert "RocketState" in names
    assert [name for name in names if not re.fullmatch(r"[A-Z][A-Za-z]*", name)] == []


def schema_of(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    found: dict[str, Any] = document["components"]["schemas"][ref.rpartition("/")[2]]
    return found


def test_every_state_the_document_describes_has_the_fields_sent(
    document: dict[str, Any],
) -> None:
    with TestClient(create_app(SETTINGS)) as client:
        post(client, message("r", 1, "RocketLaunched", LAUNCH))
        sent = {
            "/rockets": client.get("/rockets").json()[0],
            "/rockets/{channel}": client.get("/rockets/r").json(),
            "/rockets/{channel}/history": client.get("/rockets/r/history").json()[0]["state"],
        }
    assert "fuel" in sent["/rockets"]  # a plugin's field
    for template, state in sent.items():
        answer = document["paths"][template]["get"]["responses"]["200"]
        schema = schema_of(document, answer["content"]["application/json"]["schema"])
        if schema.get("type") == "array":
            schema = schema_of(document, schema["items"])
        if "state" in schema["properties"]:
            schema = schema_of(document, schema["properties"]["state"])
        # setAside is sent only while the channel waits at a message set aside.
        assert "setAside" not in schema.get("required", [])
        assert set(schema["properties"]) - {"setAside"} == set(state), template


def test_a_projection_declares_the_position_it_answers_with(document: dict[str, Any]) -> None:
    answer = document["paths"]["/projections/fleet"]["get"]["responses"]["200"]
    assert answer["headers"]["X-Position"]["schema"] == {"type": "integer", "minimum": 0}
    with TestClient(create_app(SETTINGS)) as client:
        post(client, message("r", 1, "RocketLaunched", LAUNCH))
        positions = set()
        while "1" not in positions:  # the follower takes the event in soon after the answer
            positions.add(client.get("/projections/fleet").headers["x-position"])
        assert positions <= {"0", "1"}


def test_descriptions_are_markdown_not_restructured_text(document: dict[str, Any]) -> None:
    # The docstrings they come from are reStructuredText; the pages that show them render
    # Markdown, where ``x`` would show its backticks.
    with TestClient(create_app(Settings())) as client:
        report = client.get("/plugins").text
    text = msgspec.json.encode(document).decode()
    for shown in (text, report):
        assert "``" not in shown
        assert ":class:`" not in shown
    assert "An empty or missing `channel` gets a generated UUID" in text  # Metadata's docstring


def test_every_example_of_the_document_is_accepted_as_it_stands() -> None:
    """What "Try it out" sends first: the request examples of ``POST /messages`` (the example
    package's types, which declare none, with made ones), then every read with the examples
    its parameters offer, which read back the rocket the messages made."""
    with TestClient(create_app(SETTINGS)) as client:
        document = client.get("/schema/openapi.json").json()
        body = document["paths"]["/messages"]["post"]["requestBody"]["content"]
        examples = {n: e["value"] for n, e in body["application/json"]["examples"].items()}
        assert list(examples) == ["one message", "a batch"]
        one, batch = examples["one message"], examples["a batch"]
        assert batch[0] == one  # sent in either order, the other is a duplicate
        assert [m["metadata"]["messageNumber"] for m in batch] == list(range(1, len(batch) + 1))
        types = client.get("/health").json()["messageTypes"]
        assert sorted(m["metadata"]["messageType"] for m in batch) == sorted(types)
        for sent in (one, batch, one):
            answer = post(client, sent)
            assert answer.status_code == 202, answer.text

        for template, operations in document["paths"].items():
            operation = operations.get("get")
            if operation is None or template == "/stream":  # a stream never ends
                continue
            path, query = template, {}
            for parameter in operation.get("parameters", []):
                offered = [e["value"] for e in (parameter.get("examples") or {}).values()]
                if not offered:
                    continue
                value = offered[0]
                if parameter["in"] == "path":
                    path = path.replace(f"{{{parameter['name']}}}", quote(str(value), safe=""))
                else:
                    query[parameter["name"]] = value
            assert "{" not in path, template
            answer = client.get(path, params=query)
            assert answer.status_code == 200, (template, answer.text)
        rocket = client.get(f"/rockets/{quote(one['metadata']['channel'], safe='')}").json()
        assert rocket["lastMessageNumber"] == len(batch)
