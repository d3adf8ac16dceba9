"""The dashboard in a real browser: headless Chromium (Debian's) driven by Playwright."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from rockets_standard.messages import (
    RocketExploded,
    RocketLaunched,
    RocketSpeedDecreased,
    RocketSpeedIncreased,
)

from rockets.client import RocketsClient, message

from ..conftest import ROOT
from ..server import BIN, Server, free_port, running

ARTIFACTS = ROOT / "artifacts"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    port = free_port()
    with running([str(BIN / "rockets"), "serve", "--port", str(port)], port) as started:
        yield started


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    problems: list[str] = []
    opened.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda e: problems.append(str(e)))
    opened.goto(server.url)
    expect(opened.locator("#live")).to_have_class(re.compile(r"\bon\b"))
    yield opened
    context.close()
    assert problems == [], problems  # no script error, no CSP violation


def channels(page: Page) -> list[str]:
    return page.locator("#rockets tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.channel)"
    )


def test_rows_appear_update_live_sort_filter_and_show_details(page: Page, server: Server) -> None:
    with RocketsClient(server.url) as sdk:
        for channel, speed, mission in (
            ("alpha", 300, "ARTEMIS"),
            ("bravo", 900, "APOLLO"),
            ("charlie", 100, "GEMINI"),
        ):
            sdk.send(
                RocketLaunched(type="Falcon-9", launch_speed=speed, mission=mission),
                channel=channel,
                number=1,
            )
        row = page.locator('tr[data-channel="alpha"]')
        expect(row).to_be_visible()
        expect(page.locator("#rockets tbody tr")).to_have_count(3)

        # Live: the row changes as events arrive, without reloading.
        sdk.send(RocketSpeedIncreased(by=250), channel="alpha", number=2)
        expect(row.locator('td[data-key="speed"]')).to_have_text("550")
        sdk.send(RocketExploded(reason="PRESSURE_VESSEL_FAILURE"), channel="charlie", number=2)
        exploded = page.locator('tr[data-channel="charlie"]')
        expect(exploded).to_have_class(re.compile(r"\bexploded\b"))
        expect(exploded.locator('td[data-key="status"]')).to_have_text("exploded")
        assert exploded.evaluate("r => getComputedStyle(r).backgroundColor") != row.evaluate(
            "r => getComputedStyle(r).backgroundColor"
        )

        # Sorting by any column, both ways.
        page.click('th[data-key="speed"]')
        expect(page.locator('th[data-key="speed"]')).to_have_attribute("aria-sort", "ascending")
        assert channels(page) == ["charlie", "alpha", "bravo"]
        page.click('th[data-key="speed"]')
        assert channels(page) == ["bravo", "alpha", "charlie"]
        page.click('th[data-key="mission"]')
        assert channels(page) == ["bravo", "alpha", "charlie"]  # APOLLO, ARTEMIS, GEMINI

        # Filtering by status.
        page.select_option("#status-filter", "exploded")
        expect(page.locator("#rockets tbody tr")).to_have_count(1)
        page.select_option("#status-filter", "")
        expect(page.locator("#rockets tbody tr")).to_have_count(3)

        # A plugin's state field is an extra column.
        expect(page.locator('th[data-key="fuel"]')).to_have_count(1)

        # The detail view: timeline and chart, updating live too.
        row.click()
        detail = page.locator("#detail")
        expect(detail).to_be_visible()
        expect(page.locator("#detail-title")).to_have_text("alpha")
        expect(page.locator("#timeline li")).to_have_count(2)
        expect(page.locator("#timeline li").first).to_contain_text("RocketLaunched")
        sdk.send_batch(
            [
                message(RocketSpeedIncreased(by=100), channel="alpha", number=3),
                message(RocketSpeedDecreased(by=400), channel="alpha", number=4),
            ]
        )
        expect(page.locator("#timeline li")).to_have_count(4)
        expect(page.locator("#chart")).to_have_attribute("data-points", "4")
        expect(page.locator("#chart polyline")).to_have_count(1)
        expect(row.locator('td[data-key="speed"]')).to_have_text("250")

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)


def test_readable_on_a_phone(browser: Browser, server: Server) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    phone.goto(server.url)
    expect(phone.locator("#rockets tbody tr").first).to_be_visible()
    # The table fits the screen: optional columns step aside.
    expect(phone.locator('th[data-key="mission"]')).to_be_hidden()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1
    ARTIFACTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=True)
    context.close()


def test_the_page_is_locked_down(server: Server) -> None:
    import httpx

    response = httpx.get(server.url)
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert httpx.get(f"{server.url}/dashboard/app.js").status_code == 200
