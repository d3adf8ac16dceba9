"""The API documentation pages in a real browser that has no way out of this machine: every
request to a host other than the server's is refused (and recorded), and each page must still
list every operation of the OpenAPI document, with nothing refused and no console error; and
what a new user clicks first, "Try it out" on ``POST /messages`` with the body the page fills in,
is accepted, in Swagger UI and in RapiDoc alike."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect

from ..server import BIN, Server, free_port, running

PAGES = ["/schema", "/schema/swagger", "/schema/rapidoc"]
RENDERING = 15_000
"""How long the first operation may take to appear (ms): Swagger UI parses a 1.4 MB script on
two shared cores; later checks find the page already drawn."""


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    port = free_port()
    with running([str(BIN / "rockets"), "serve", "--port", str(port)], port) as started:
        yield started


@pytest.fixture(scope="module")
def operations(server: Server) -> list[tuple[str, str]]:
    """Every (method, path) the document lists."""
    document = httpx.get(f"{server.url}/schema/openapi.json", timeout=5).json()
    found = [(method, path) for path, item in document["paths"].items() for method in item]
    assert {("post", "/messages"), ("get", "/rockets")} <= set(found)
    return found


@dataclass
class Offline:
    """A page whose requests beyond the server are refused, and what it tried and said."""

    page: Page
    refused: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@pytest.fixture
def offline(browser: Browser, server: Server) -> Iterator[Offline]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    seen = Offline(context.new_page())
    host = urlsplit(server.url).hostname

    def only_this_server(route: Route) -> None:
        if urlsplit(route.request.url).hostname == host:
            route.continue_()
        else:
            seen.refused.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_this_server)
    seen.page.on("console", lambda m: seen.problems.append(m.text) if m.type == "error" else None)
    seen.page.on("pageerror", lambda e: seen.problems.append(str(e)))
    yield seen
    context.close()


def listed(page: Page, url: str, method: str, path: str) -> Locator:
    """Where ``url``'s page shows the operation ``method path`` (RapiDoc draws in a shadow root,
    which Playwright's CSS locators enter)."""
    if url.endswith("/rapidoc"):
        labels = page.locator(f"[part~='section-operation'].{method} [part='label-operation-path']")
        return labels.filter(has_text=re.compile(f"^{re.escape(path)}$"))
    return page.locator(f".opblock-{method} .opblock-summary-path[data-path='{path}']")


@pytest.mark.parametrize("url", PAGES)
def test_the_page_lists_every_operation_with_nothing_from_outside(
    offline: Offline, server: Server, operations: list[tuple[str, str]], url: str
) -> None:
    offline.page.goto(server.url + url)
    (method, path), *others = operations
    expect(listed(offline.page, url, method, path)).to_be_visible(timeout=RENDERING)
    for method, path in others:
        expect(listed(offline.page, url, method, path)).to_be_visible()
    assert offline.refused == []
    assert offline.problems == []  # no script error, no CSP refusal, no failed load


def test_swagger_ui_tries_a_request_out(offline: Offline, server: Server) -> None:
    """The page is not only drawn: it calls the API (the CSP lets it talk to this server)."""
    page = offline.page
    page.goto(f"{server.url}/schema/swagger")
    block = page.locator(
        ".opblock-get", has=page.locator(".opblock-summary-path[data-path='/rockets']")
    )
    block.locator(".opblock-summary").click(timeout=RENDERING)
    block.get_by_role("button", name="Try it out").click()
    block.get_by_role("button", name="Execute").click()
    expect(block.locator(".live-responses-table tr.response .response-col_status")).to_have_text(
        "200"
    )
    assert offline.refused == []
    assert offline.problems == []


# --- Try it out with the document's examples, as a new user's first click ---

TRIED = 15_000
"""How long an answer may take to show in a page (ms): on two shared cores, a first request
also waits for the page's script to draw the answer."""


def sent_rocket(body: str) -> tuple[str, int]:
    """The channel a request body the page sent posts to, and the highest number in it."""
    sent = json.loads(body)
    envelopes = sent if isinstance(sent, list) else [sent]
    (channel,) = {envelope["metadata"]["channel"] for envelope in envelopes}
    return channel, max(envelope["metadata"]["messageNumber"] for envelope in envelopes)


def read_back(server: Server, channel: str, number: int) -> None:
    """The rocket the page posted to is there, with every message it sent applied."""
    rocket = httpx.get(f"{server.url}/rockets/{quote(channel, safe='')}", timeout=5)
    assert rocket.status_code == 200, rocket.text
    assert rocket.json()["lastMessageNumber"] == number


def swagger_operation(page: Page, method: str, path: str) -> Locator:
    return page.locator(
        f".opblock-{method}", has=page.locator(f".opblock-summary-path[data-path='{path}']")
    )


def test_swagger_ui_sends_each_example_of_post_messages_as_it_stands(
    offline: Offline, server: Server
) -> None:
    page = offline.page
    page.goto(f"{server.url}/schema/swagger")
    block = swagger_operation(page, "post", "/messages")
    block.locator(".opblock-summary").click(timeout=RENDERING)
    block.get_by_role("button", name="Try it out").click()
    body = block.locator("textarea.body-param__text")
    status = block.locator(".live-responses-table tr.response .response-col_status")
    posted: list[tuple[str, int]] = []
    # What the page fills in first (the first example), then the batch, chosen by its name.
    for name in (None, "a batch"):
        if name is not None:
            block.locator("select.examples-select-element").select_option(name)
        expect(body).not_to_have_value("")
        block.get_by_role("button", name="Execute").click()
        expect(status).to_have_text("202", timeout=TRIED)
        posted.append(sent_rocket(body.input_value()))
        block.get_by_role("button", name="Clear").click()
        expect(status).to_have_count(0)
    (channel, _), (batch_channel, last) = posted
    assert channel == batch_channel  # the batch goes on where the one message started
    read_back(server, channel, last)

    # Through the page too: the operation that reads a rocket offers the examples' channel.
    rocket = swagger_operation(page, "get", "/rockets/{channel}")
    rocket.locator(".opblock-summary").click()
    rocket.get_by_role("button", name="Try it out").click()
    rocket.get_by_role("button", name="Execute").click()
    answer = rocket.locator(".live-responses-table tr.response")
    expect(answer.locator(".response-col_status")).to_have_text("200", timeout=TRIED)
    state = json.loads(answer.locator(".response-col_description pre").first.inner_text())
    assert (state["channel"], state["lastMessageNumber"]) == (channel, last)
    assert offline.refused == []
    assert offline.problems == []


def rapidoc_operation(page: Page, method: str, path: str) -> Locator:
    return page.locator(f"[part~='section-operation'].{method}").filter(
        has=page.locator(
            "[part='label-operation-path']", has_text=re.compile(f"^{re.escape(path)}$")
        )
    )


def test_rapidoc_sends_each_example_of_post_messages_as_it_stands(
    offline: Offline, server: Server
) -> None:
    page = offline.page
    page.goto(f"{server.url}/schema/rapidoc")
    operation = rapidoc_operation(page, "post", "/messages")
    expect(operation).to_be_visible(timeout=RENDERING)
    body = operation.locator("textarea.request-body-param-user-input")
    status = operation.locator(".response-message")
    posted: list[tuple[str, int]] = []
    # What the page fills in first (the first example), then the batch, chosen by its name.
    for name in (None, "a batch"):
        if name is not None:
            operation.locator("api-request select").select_option(name)
        operation.locator("button[part~='btn-try']").click()
        expect(status).to_contain_text(":202", timeout=TRIED)
        posted.append(sent_rocket(body.input_value()))
        operation.locator("button[part~='btn-clear-response']").click()
        expect(status).to_have_count(0)
    (channel, _), (batch_channel, last) = posted
    assert channel == batch_channel
    read_back(server, channel, last)

    rocket = rapidoc_operation(page, "get", "/rockets/{channel}")
    rocket.locator("button[part~='btn-try']").click()
    expect(rocket.locator(".response-message")).to_contain_text(":200", timeout=TRIED)
    assert offline.refused == []
    assert offline.problems == []
