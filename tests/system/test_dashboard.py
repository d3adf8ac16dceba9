"""The dashboard in a real browser: headless Chromium (Debian's) driven by Playwright.

Every test starts a server of its own, so that what a page counts is what that test posted.
Nothing here waits by the clock: Playwright's ``expect`` polls for a condition; where a page's
time must move (the messages-per-second chart), its clock is driven (``page.clock``).
"""

from __future__ import annotations

import math
import random
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from rockets_fuel.plugin import RocketFuelBurned, RocketRefueled
from rockets_standard.messages import (
    RocketExploded,
    RocketLaunched,
    RocketMissionChanged,
    RocketSpeedDecreased,
    RocketSpeedIncreased,
)

from rockets.client import RocketsClient, message
from rockets.http.dashboard import STATIC
from rockets.wire import Envelope

from ..conftest import ROOT
from ..server import BIN, Server, free_port, running

ARTIFACTS = ROOT / "artifacts"
STALL_SECONDS = "1"
"""A gap is stalled after a second here, so that a test sees one turn stalled soon."""
PHONE = {"width": 390, "height": 844}
STALLED_SOON = 15_000
"""Milliseconds to wait for a page to show a gap or its stall: it looks every few seconds,
since a gap makes no event of the stream."""

OpenPage = Callable[..., Page]


@pytest.fixture
def server_env() -> dict[str, str]:
    """What the test's server has in its environment besides the stall delay (a test
    parametrizes it to change that)."""
    return {}


@pytest.fixture
def server(server_env: dict[str, str]) -> Iterator[Server]:
    port = free_port()
    command = [str(BIN / "rockets"), "serve", "--port", str(port)]
    # The example package's fuel field is on the page: its plugin is loaded by module name
    # from its folder, as the project's environment does not install it.
    env = {
        "ROCKETS_STALL_SECONDS": STALL_SECONDS,
        "ROCKETS_PLUGINS": "rockets_fuel.plugin",
        "PYTHONPATH": str(ROOT / "plugins" / "rockets-fuel"),
        **server_env,
    }
    with running(command, port, env=env) as started:
        yield started


@pytest.fixture
def open_page(browser: Browser, server: Server) -> Iterator[OpenPage]:
    """Opens the dashboard (or ``url``) in a fresh browser context and waits until it is live
    and loaded; at the end, fails on any script error or CSP violation any page logged."""
    contexts = []
    problems: list[str] = []

    def opened(
        url: str | None = None,
        *,
        viewport: dict[str, int] | None = None,
        clock: bool = False,
        **options: Any,
    ) -> Page:
        context = browser.new_context(
            viewport=viewport or {"width": 1280, "height": 800}, **options
        )
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        if clock:
            page.clock.install()
        page.goto(url or server.url)
        expect(page.locator("#live")).to_have_class(re.compile(r"\bon\b"))
        expect(page.locator("#summary")).to_have_attribute("data-loaded", "true")
        return page

    yield opened
    for context in contexts:
        context.close()
    assert problems == [], problems  # no script error, no CSP violation


def rows(page: Page) -> Locator:
    return page.locator("#rockets tbody tr[data-channel]")


def row(page: Page, channel: str) -> Locator:
    return page.locator(f'#rockets tbody tr[data-channel="{channel}"]')


def channels(page: Page) -> list[str]:
    listed: list[str] = rows(page).evaluate_all("rows => rows.map(r => r.dataset.channel)")
    return listed


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def box(locator: Locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, locator
    return found


def inside(found: dict[str, float], screen: dict[str, int]) -> None:
    """The box is wholly on the screen (to half a pixel, for fractional layouts)."""
    assert found["x"] >= 0, found
    assert found["y"] >= 0, found
    assert found["x"] + found["width"] <= screen["width"] + 0.5, found
    assert found["y"] + found["height"] <= screen["height"] + 0.5, found


def within(inner: dict[str, float], outer: dict[str, float]) -> None:
    """The box ``inner`` lies wholly in ``outer`` (to half a pixel): nothing of it is cut off."""
    assert inner["x"] >= outer["x"] - 0.5, (inner, outer)
    assert inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5, (inner, outer)


def show(page: Page, channel: str) -> None:
    """Opens a rocket found by its channel (the table puts only the rows on screen in the page),
    then clears the search: the open rocket's row stays in sight."""
    page.fill("#search", channel)
    row(page, channel).click()
    expect(page.locator("#detail-title")).to_have_text(channel)
    page.fill("#search", "")
    expect(page.locator("#summary")).to_have_attribute(
        "data-shown", page.locator("#summary").get_attribute("data-total") or ""
    )
    expect(row(page, channel)).to_be_in_viewport()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


# --- a realistic fleet ---

TYPES = ("Falcon-9", "Falcon Heavy", "Starship", "Electron", "Ariane 6", "New Glenn")
MISSIONS = ("ARTEMIS", "APOLLO", "GEMINI", "SHUTTLE_MIR", "VOYAGER", "CASSINI", "JUNO")
REASONS = ("PRESSURE_VESSEL_FAILURE", "ENGINE_FLAMEOUT", "GUIDANCE_LOST")


@dataclass
class Fleet:
    """What :func:`seed` posted: each rocket's type and mission as they end up."""

    types: dict[str, str] = field(default_factory=dict)
    missions: dict[str, str] = field(default_factory=dict)
    exploded: list[str] = field(default_factory=list)
    gap: str = ""
    """A rocket with many speed changes (a chart worth showing), then a gap: its third-last
    message never came, so the last two wait."""
    applied: dict[str, int] = field(default_factory=dict)
    """How many events each rocket has applied."""


def uuid_channel(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def seed(sdk: RocketsClient, count: int = 36, seed: int = 7) -> Fleet:
    """Rockets with UUID channels, several types and missions, speed and fuel changes, a few
    explosions and one gap; posted shuffled (out of order) in a few batches."""
    rng = random.Random(seed)
    fleet = Fleet()
    envelopes: list[Envelope] = []
    for i in range(count):
        channel = uuid_channel(rng)
        kind, mission = rng.choice(TYPES), rng.choice(MISSIONS)
        plan: list[Any] = [
            RocketLaunched(type=kind, launch_speed=rng.randrange(500, 3000, 50), mission=mission),
            RocketRefueled(amount=rng.randrange(2000, 9000, 100)),
        ]
        for _ in range(rng.randrange(1, 6) + (10 if i == 1 else 0)):
            change = rng.randrange(100, 1500, 10)
            plan.append(
                RocketSpeedDecreased(by=change // 2)
                if rng.random() < 0.3
                else RocketSpeedIncreased(by=change)
            )
            plan.append(RocketFuelBurned(amount=rng.randrange(50, 400, 10)))
        if i % 11 == 5:
            mission = rng.choice([m for m in MISSIONS if m != mission])
            plan.append(RocketMissionChanged(new_mission=mission))
        if i % 7 == 0:
            plan.append(RocketExploded(reason=rng.choice(REASONS)))
            fleet.exploded.append(channel)
        missing = len(plan) - 2 if i == 1 else 0
        if missing:
            fleet.gap = channel
        envelopes += [
            message(p, channel=channel, number=n)
            for n, p in enumerate(plan, start=1)
            if n != missing
        ]
        fleet.types[channel], fleet.missions[channel] = kind, mission
        fleet.applied[channel] = missing - 1 if missing else len(plan)
    rng.shuffle(envelopes)
    for start in range(0, len(envelopes), 100):
        sdk.send_batch(envelopes[start : start + 100])
    return fleet


# --- the tests ---


def test_rows_appear_update_live_sort_filter_and_show_details(
    open_page: OpenPage, server: Server
) -> None:
    page = open_page()
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
        alpha = row(page, "alpha")
        expect(alpha).to_be_visible()
        expect(rows(page)).to_have_count(3)
        expect(alpha.locator('td[data-key="channel"] .chan')).to_have_text("alpha")  # short: whole

        # Live: the row changes as events arrive, without reloading.
        sdk.send(RocketSpeedIncreased(by=250), channel="alpha", number=2)
        expect(alpha.locator('td[data-key="speed"]')).to_have_text("550")
        sdk.send(RocketExploded(reason="PRESSURE_VESSEL_FAILURE"), channel="charlie", number=2)
        exploded = row(page, "charlie")
        expect(exploded).to_have_class(re.compile(r"\bexploded\b"))
        expect(exploded.locator('td[data-key="status"]')).to_have_text("exploded")
        assert exploded.evaluate("r => getComputedStyle(r.cells[1]).backgroundColor") != (
            alpha.evaluate("r => getComputedStyle(r.cells[1]).backgroundColor")
        )

        # Sorting by any column, both ways.
        page.click('th[data-key="speed"]')
        expect(page.locator('th[data-key="speed"]')).to_have_attribute("aria-sort", "ascending")
        expect(rows(page).first).to_have_attribute("data-channel", "charlie")
        assert channels(page) == ["charlie", "alpha", "bravo"]
        page.click('th[data-key="speed"]')
        expect(rows(page).first).to_have_attribute("data-channel", "bravo")
        assert channels(page) == ["bravo", "alpha", "charlie"]
        page.click('th[data-key="mission"]')
        expect(page.locator('th[data-key="mission"]')).to_have_attribute("aria-sort", "ascending")
        assert channels(page) == ["bravo", "alpha", "charlie"]  # APOLLO, ARTEMIS, GEMINI

        # Filtering by status.
        page.select_option("#status-filter", "exploded")
        expect(rows(page)).to_have_count(1)
        page.select_option("#status-filter", "")
        expect(rows(page)).to_have_count(3)

        # A plugin's state field is an extra column.
        expect(page.locator('th[data-key="fuel"]')).to_have_count(1)

        # The detail view: timeline and chart, updating live too.
        alpha.click()
        expect(page.locator("#detail")).to_be_visible()
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
        expect(alpha.locator('td[data-key="speed"]')).to_have_text("250")
        expect(page.locator('#detail-state dd[data-key="speed"]')).to_have_text("250")


def fleet_count(page: Page, kind: str, value: str) -> Locator:
    return page.locator(f'#by-{kind} button[data-value="{value}"] .count')


def test_the_fleet_panel_counts_what_was_posted_and_follows_the_stream(
    open_page: OpenPage, server: Server
) -> None:
    rng = random.Random(3)
    falcons = [uuid_channel(rng) for _ in range(3)]
    starships = [uuid_channel(rng) for _ in range(2)]
    with RocketsClient(server.url) as sdk:
        sdk.send_batch(
            [message(RocketLaunched(type="Falcon-9", launch_speed=500, mission="ARTEMIS"), channel=c, number=1) for c in falcons]
            + [message(RocketLaunched(type="Starship", launch_speed=900, mission="APOLLO"), channel=c, number=1) for c in starships]
        )  # fmt: skip
        page = open_page()
        panel = page.locator("#fleet")
        expect(panel).to_have_attribute("data-source", "projection")  # GET /projections/fleet
        expect(page.locator("#fleet-total")).to_have_text("5")
        expect(fleet_count(page, "status", "flying")).to_have_text("5")
        expect(fleet_count(page, "type", "Falcon-9")).to_have_text("3")
        expect(fleet_count(page, "type", "Starship")).to_have_text("2")
        expect(fleet_count(page, "mission", "ARTEMIS")).to_have_text("3")
        expect(fleet_count(page, "mission", "APOLLO")).to_have_text("2")
        expect(fleet_count(page, "status", "exploded")).to_have_count(0)

        # Live: each count follows the events applied after the page opened.
        electron = uuid_channel(rng)
        sdk.send_batch(
            [
                message(RocketExploded(reason="ENGINE_FLAMEOUT"), channel=falcons[0], number=2),
                message(RocketMissionChanged(new_mission="ARTEMIS"), channel=starships[0], number=2),
                message(RocketLaunched(type="Electron", launch_speed=300, mission="JUNO"), channel=electron, number=1),
            ]
        )  # fmt: skip
        expect(page.locator("#fleet-total")).to_have_text("6")
        expect(fleet_count(page, "status", "exploded")).to_have_text("1")
        expect(fleet_count(page, "status", "flying")).to_have_text("5")
        expect(fleet_count(page, "type", "Electron")).to_have_text("1")
        expect(fleet_count(page, "mission", "ARTEMIS")).to_have_text("4")
        expect(fleet_count(page, "mission", "APOLLO")).to_have_text("1")
        expect(fleet_count(page, "mission", "JUNO")).to_have_text("1")
        expect(page.locator("#fleet-line")).to_contain_text("6 rockets · 1 exploded")
        # The chart counts the three events the stream brought.
        expect(page.locator("#rate")).to_have_attribute("data-total", "3")
        expect(page.locator("#rate polyline")).to_have_count(1)

        # A count is a filter: again, and all rockets are back.
        falcon = page.locator('#by-type button[data-value="Falcon-9"]')
        falcon.click()
        expect(falcon).to_have_attribute("aria-pressed", "true")
        expect(rows(page)).to_have_count(3)
        assert query(page)["type"] == ["Falcon-9"]
        expect(page.locator("#type-filter")).to_have_value("Falcon-9")
        falcon.click()
        expect(rows(page)).to_have_count(6)
        assert "type" not in query(page)


@pytest.mark.parametrize("server_env", [{"ROCKETS_BLOCKED_PLUGINS": "rocket_fleet"}])
def test_without_the_fleet_projection_the_page_counts_by_itself(
    open_page: OpenPage, server: Server
) -> None:
    with RocketsClient(server.url) as sdk:
        fleet = seed(sdk, count=12)
        page = open_page()
        expect(page.locator("#fleet")).to_have_attribute("data-source", "page")
        expect(page.locator("#fleet-source")).to_be_visible()
        expect(page.locator("#fleet-total")).to_have_text("12")
        for kind, counts in (("type", fleet.types), ("mission", fleet.missions)):
            # The panel lists the largest counts first, ties by name.
            value, n = min(Counter(counts.values()).items(), key=lambda item: (-item[1], item[0]))
            expect(fleet_count(page, kind, value)).to_have_text(str(n))
        expect(fleet_count(page, "status", "exploded")).to_have_text(str(len(fleet.exploded)))
        # A count made by the page follows the stream as well.
        calm = next(c for c in sorted(fleet.types) if c not in fleet.exploded and c != fleet.gap)
        sdk.send(RocketExploded(reason="GUIDANCE_LOST"), channel=calm)
        expect(fleet_count(page, "status", "exploded")).to_have_text(str(len(fleet.exploded) + 1))


def test_search_and_filters_narrow_the_rows_and_live_in_the_url(
    open_page: OpenPage, server: Server
) -> None:
    with RocketsClient(server.url) as sdk:
        fleet = seed(sdk, count=30)
    page = open_page()
    expect(rows(page)).to_have_count(30)

    # A channel prefix.
    some = sorted(fleet.types)[7]
    prefix = some[:2]
    page.fill("#search", prefix)
    expected = sorted(c for c in fleet.types if c.startswith(prefix))
    expect(rows(page)).to_have_count(len(expected))
    assert channels(page) == expected
    assert query(page)["q"] == [prefix]

    # Words: each must match the type, the mission or a channel prefix.
    page.fill("#search", "falcon")
    falcons = sorted(c for c, t in fleet.types.items() if "falcon" in t.lower())
    expect(rows(page)).to_have_count(len(falcons))
    mission = Counter(fleet.missions[c] for c in falcons).most_common(1)[0][0]
    page.fill("#search", f"falcon {mission.lower()}")
    chosen = [c for c in falcons if fleet.missions[c] == mission]
    expect(rows(page)).to_have_count(len(chosen))

    # The same through the menus, sorted by speed, fastest first, one rocket open.
    page.fill("#search", "")
    expect(rows(page)).to_have_count(30)
    kind = fleet.types[some]
    page.select_option("#type-filter", kind)
    of_kind = sorted(c for c, t in fleet.types.items() if t == kind)
    expect(rows(page)).to_have_count(len(of_kind))
    page.click('th[data-key="speed"]')
    page.click('th[data-key="speed"]')
    expect(page.locator('th[data-key="speed"]')).to_have_attribute("aria-sort", "descending")
    row(page, some).click()
    expect(page.locator("#detail-title")).to_have_text(some)
    shown = channels(page)
    assert sorted(shown) == of_kind
    assert query(page) == {
        "type": [kind],
        "sort": ["speed"],
        "order": ["desc"],
        "rocket": [some],
    }

    # The address is the view: opened elsewhere, it shows the same.
    again = open_page(page.url)
    expect(again.locator("#type-filter")).to_have_value(kind)
    expect(again.locator('th[data-key="speed"]')).to_have_attribute("aria-sort", "descending")
    expect(rows(again)).to_have_count(len(of_kind))
    assert channels(again) == shown
    expect(again.locator("#detail")).to_be_visible()
    expect(again.locator("#detail-title")).to_have_text(some)
    expect(row(again, some)).to_have_class(re.compile(r"\bselected\b"))

    # And a search too.
    searched = open_page(f"{server.url}/?q=falcon+{mission}&gap=")
    expect(searched.locator("#search")).to_have_value(f"falcon {mission}")
    expect(rows(searched)).to_have_count(len(chosen))


def test_ten_thousand_rockets_keep_a_few_rows_in_the_page(
    open_page: OpenPage, server: Server
) -> None:
    rng = random.Random(10_000)
    fleet = sorted(uuid_channel(rng) for _ in range(10_000))
    launches = [
        message(RocketLaunched(type=TYPES[i % 6], launch_speed=i, mission=MISSIONS[i % 7]), channel=c, number=1)
        for i, c in enumerate(fleet)
    ]  # fmt: skip
    later = set(rng.sample(range(10_000), 1000))
    with RocketsClient(server.url) as sdk:
        before = [e for i, e in enumerate(launches) if i not in later]
        for start in range(0, len(before), 1000):
            sdk.send_batch(before[start : start + 1000])  # loaded page by page
        page = open_page()
        expect(page.locator("#summary")).to_have_attribute("data-total", "9000")
        sdk.send_batch([e for i, e in enumerate(launches) if i in later])  # from the stream
    summary = page.locator("#summary")
    expect(summary).to_have_attribute("data-total", "10000")
    expect(summary).to_contain_text("10,000 rockets")
    expect(page.locator("#fleet-total")).to_have_text("10,000")
    expect(page.locator("#rockets")).to_have_attribute("aria-rowcount", "10001")
    expect(rows(page).first).to_have_attribute("data-channel", fleet[0])
    assert rows(page).count() < 100

    # Scrolling to the end reaches the last rocket, with as few rows in the page.
    page.locator("#list").evaluate("list => { list.scrollTop = list.scrollHeight; }")
    last = row(page, fleet[-1])
    expect(last).to_be_visible()
    assert rows(page).count() < 100
    # And by keyboard: Home and End, from a row.
    last.focus()
    page.keyboard.press("Home")
    expect(row(page, fleet[0])).to_be_focused()
    page.keyboard.press("End")
    expect(last).to_be_focused()
    page.keyboard.press("PageUp")
    expect(page.locator('#rockets tbody tr[data-channel][tabindex="0"]')).to_be_focused()
    assert rows(page).count() < 100


def test_on_a_phone_speed_and_status_fit_and_the_detail_opens_in_view(
    open_page: OpenPage, server: Server
) -> None:
    with RocketsClient(server.url) as sdk:
        fleet = seed(sdk)
    phone = open_page(viewport=PHONE, is_mobile=True, has_touch=True)
    first = rows(phone).first
    expect(first).to_be_visible()
    expect(phone.locator("#gap-stalled")).to_have_attribute("data-count", "1", timeout=STALLED_SOON)

    # Channel, speed and status fit the screen, with 36-character channels.
    for cell in (
        phone.locator('th[data-key="speed"]'),
        phone.locator('th[data-key="status"]'),
        first.locator('td[data-key="speed"]'),
        first.locator('td[data-key="status"]'),
        first.locator('td[data-key="channel"]'),
    ):
        expect(cell).to_be_visible()
        inside(box(cell), PHONE)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert phone.locator("#list").evaluate("l => l.scrollWidth <= l.clientWidth")
    expect(phone.locator('th[data-key="mission"]')).to_be_hidden()
    # The type and mission show under the short channel instead.
    some = channels(phone)[0]
    expect(first.locator(".sub")).to_have_text(f"{fleet.types[some]} · {fleet.missions[some]}")
    expect(first.locator(".chan")).to_have_text(f"{some[:8]}…")

    # The stalled rocket, a few rows down: its badge fits too (an icon and a count).
    position = sorted(fleet.types).index(fleet.gap)
    phone.locator("#list").evaluate(
        "(list, i) => { list.scrollTop = (i - 5) * list.querySelector('tr[data-channel]').offsetHeight; }",
        position,
    )
    stalled = row(phone, fleet.gap).locator(".badge.gap.stalled")
    expect(stalled).to_be_in_viewport()
    expect(stalled).to_have_text("2 stalled")  # the word for screen readers, the icon for eyes
    inside(box(stalled), PHONE)
    screenshot(phone, "dashboard-phone.png")

    # A tap opens the detail view over the page, within the screen.
    row(phone, fleet.gap).tap()
    detail = phone.locator("#detail")
    expect(detail).to_be_visible()
    expect(phone.locator("#detail-title")).to_have_text(fleet.gap)
    expect(phone.locator("#detail-gap")).to_contain_text("stalled: 2 waiting for message")
    expect(phone.locator("#timeline li")).to_have_count(fleet.applied[fleet.gap])
    inside(box(detail), PHONE)
    close = phone.locator("#close")
    inside(box(close), PHONE)
    assert phone.locator("#detail").evaluate("d => d.scrollWidth <= d.clientWidth")
    screenshot(phone, "dashboard-phone-detail.png")
    close.tap()
    expect(detail).to_be_hidden()


def test_the_desktop_detail_leaves_the_last_column_and_long_payloads_whole(
    open_page: OpenPage, server: Server
) -> None:
    with RocketsClient(server.url) as sdk:
        fleet = seed(sdk)
        long = uuid_channel(random.Random(1))
        sdk.send_batch(
            [
                message(RocketLaunched(type="Falcon Heavy", launch_speed=800, mission="M" * 120), channel=long, number=1),
                message(RocketExploded(reason="FAILURE_" * 30), channel=long, number=2),
            ]
        )  # fmt: skip
        page = open_page(clock=True)
        # Traffic over forty seconds of the page's clock, for the chart.
        rng = random.Random(5)
        flying = [c for c in fleet.types if c not in fleet.exploded and c != fleet.gap]
        total = 0
        for second in range(40):
            burst = [
                rng.choice(flying)
                for _ in range(int(12 + 10 * math.sin(second / 4)) + rng.randrange(6))
            ]
            sdk.send_batch(
                [message(RocketSpeedIncreased(by=rng.randrange(5, 60)), channel=c) for c in burst]
            )
            total += len(burst)
            page.clock.fast_forward(1000)
            expect(page.locator("#rate")).to_have_attribute("data-total", str(total))
    expect(page.locator("#gap-stalled")).to_have_attribute("data-count", "1", timeout=STALLED_SOON)

    show(page, long)
    expect(page.locator("#timeline li")).to_have_count(2)
    table_box = box(page.locator("#list"))
    detail_box = box(page.locator("#detail"))
    last_column = box(page.locator("#rockets thead th").last)
    assert last_column["x"] + last_column["width"] <= table_box["x"] + table_box["width"] + 0.5
    assert table_box["x"] + table_box["width"] <= detail_box["x"]
    assert detail_box["x"] + detail_box["width"] <= 1280
    assert page.locator("#list").evaluate("l => l.scrollWidth <= l.clientWidth")
    assert page.locator("#detail").evaluate("d => d.scrollWidth <= d.clientWidth")
    for payload in page.locator("#timeline .payload").all():
        assert payload.evaluate("p => p.scrollWidth <= p.clientWidth")
    expect(page.locator("#timeline .payload").last).to_contain_text("FAILURE_FAILURE_")

    # The view of the README: an eventful rocket open, with a stalled gap.
    show(page, fleet.gap)
    expect(page.locator("#chart")).to_have_attribute("data-points", str(fleet.applied[fleet.gap]))
    expect(page.locator("#detail-gap")).to_contain_text("stalled: 2 waiting for message")
    page.evaluate("document.activeElement.blur()")  # no focus ring nor hover in the picture
    page.mouse.move(0, 0)
    screenshot(page, "dashboard.png")


def test_every_control_is_reachable_by_keyboard(open_page: OpenPage, server: Server) -> None:
    with RocketsClient(server.url) as sdk:
        fleet = seed(sdk, count=8)
    page = open_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    expect(rows(page)).to_have_count(8)
    listed = sorted(fleet.types)

    # Tab walks every control, then reaches the rows.
    focused: list[str] = []
    for _ in range(80):
        page.keyboard.press("Tab")
        here = page.evaluate(
            "() => { const e = document.activeElement;"
            " return e.id || (e.dataset.channel && 'row') || e.dataset.value || e.closest('th')?.dataset.key || e.tagName; }"
        )
        focused.append(here)
        if here == "row":
            break
    assert focused[-1] == "row", focused
    for control in ("search", "status-filter", "type-filter", "mission-filter", "gap-filter",
                    "gap-waiting", "gap-stalled", "flying", "channel", "speed", "status"):  # fmt: skip
        assert control in focused, (control, focused)
    first = row(page, listed[0])
    expect(first).to_be_focused()
    # Its focus is visible.
    outline = first.evaluate(
        "r => [getComputedStyle(r).outlineStyle, getComputedStyle(r).outlineWidth]"
    )
    assert outline[0] != "none", outline
    assert float(outline[1].removesuffix("px")) >= 2, outline

    # The arrows move, Enter opens, Escape closes and gives the row its focus back.
    page.keyboard.press("ArrowDown")
    second = row(page, listed[1])
    expect(second).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#detail")).to_be_visible()
    expect(page.locator("#detail-title")).to_have_text(listed[1])
    assert query(page)["rocket"] == [listed[1]]
    page.keyboard.press("Escape")
    expect(page.locator("#detail")).to_be_hidden()
    expect(second).to_be_focused()
    assert "rocket" not in query(page)

    # c copies the whole channel of a row, shown short.
    page.keyboard.press("c")
    expect(page.locator("#toast")).to_contain_text(f"Copied {listed[1]}")
    assert page.evaluate("navigator.clipboard.readText()") == listed[1]

    # From the open detail view, Tab goes to its buttons; its close button gives the focus back.
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.locator("#copy-channel")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#close")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#detail")).to_be_hidden()
    expect(second).to_be_focused()

    # A header sorts from the keyboard; a fleet count filters; / goes to the search.
    page.keyboard.press("Shift+Tab")
    expect(page.locator('th[data-key="fuel"] button')).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator('th[data-key="fuel"]')).to_have_attribute("aria-sort", "ascending")
    page.locator('#by-status button[data-value="exploded"]').focus()
    page.keyboard.press("Enter")
    expect(rows(page)).to_have_count(len([c for c in fleet.exploded if c in fleet.types]))
    page.keyboard.press("Enter")
    expect(rows(page)).to_have_count(8)
    page.locator("body").press("/")
    expect(page.locator("#search")).to_be_focused()
    page.keyboard.type(listed[2][:6])
    page.keyboard.press("ArrowDown")
    expect(row(page, listed[2])).to_be_focused()


def test_exploded_waiting_and_stalled_rockets_carry_a_label(
    open_page: OpenPage, server: Server
) -> None:
    rng = random.Random(8)
    boom, gap, lost, late = (uuid_channel(rng) for _ in range(4))
    launch = RocketLaunched(type="Starship", launch_speed=1000, mission="ARTEMIS")
    with RocketsClient(server.url) as sdk:
        sdk.send_batch(
            [
                message(launch, channel=boom, number=1),
                message(RocketExploded(reason="ENGINE_FLAMEOUT"), channel=boom, number=2),
                message(launch, channel=gap, number=1),
                message(RocketSpeedIncreased(by=10), channel=gap, number=3),
                message(RocketSpeedIncreased(by=20), channel=gap, number=4),
                message(launch, channel=lost, number=2),  # every message of it waits
            ]
        )
        page = open_page()

        # Exploded: a word and an icon, not a colour only.
        status = row(page, boom).locator('td[data-key="status"]')
        expect(status).to_have_text("exploded")
        expect(status.locator("svg.icon-exploded")).to_have_count(1)
        expect(row(page, boom)).to_have_attribute("data-status", "exploded")

        # Waiting behind a gap, then stalled: a count, an icon and a word.
        marked = row(page, gap).locator(".badge.gap")
        expect(marked).to_contain_text("2")
        expect(marked).to_have_attribute(
            "title", re.compile(r"^(stalled: )?2 waiting for message 2")
        )
        expect(row(page, gap).locator(".badge.gap.stalled")).to_contain_text(
            "2 stalled", timeout=STALLED_SOON
        )
        expect(row(page, gap).locator(".badge.gap svg.icon-stalled")).to_have_count(1)
        expect(row(page, lost).locator('td[data-key="status"]')).to_contain_text("unknown")
        expect(row(page, lost).locator(".badge.gap")).to_contain_text("1")
        expect(row(page, lost).locator('td[data-key="last-update"]')).to_have_text("—")  # no event
        expect(page.locator("#gap-waiting")).to_have_attribute("data-count", "2")
        expect(page.locator("#gap-waiting")).to_contain_text("2 waiting behind a gap (3 messages)")
        expect(page.locator("#gap-stalled")).to_have_attribute(
            "data-count", "2", timeout=STALLED_SOON
        )
        expect(page.locator("#stalled-list button")).to_have_count(2)

        # A gap opened while the page is open shows too: its message is no event of the stream.
        sdk.send(launch, channel=late, number=2)
        expect(row(page, late).locator(".badge.gap")).to_be_visible(timeout=STALLED_SOON)
        expect(page.locator("#gap-waiting")).to_have_attribute("data-count", "3")

        # The gap filter, in the address too.
        page.select_option("#gap-filter", "stalled")
        expect(rows(page)).to_have_count(3, timeout=STALLED_SOON)
        assert query(page)["gap"] == ["stalled"]
        assert sorted(channels(page)) == sorted([gap, lost, late])
        page.select_option("#gap-filter", "")
        expect(rows(page)).to_have_count(4)

        # The detail view says what is awaited.
        row(page, gap).click()
        expect(page.locator("#detail-gap")).to_contain_text("stalled: 2 waiting for message 2")

        # Filled, the gap goes: its mark, and its count.
        sdk.send(RocketSpeedIncreased(by=5), channel=gap, number=2)
        expect(row(page, gap).locator('td[data-key="speed"]')).to_have_text("1,035")
        expect(row(page, gap).locator(".badge.gap")).to_have_count(0)
        expect(page.locator("#detail-gap")).to_be_hidden()
        expect(page.locator("#gap-waiting")).to_have_attribute("data-count", "2")


def test_a_stalled_badge_is_whole_beside_the_longest_status(
    open_page: OpenPage, server: Server
) -> None:
    # "unknown" is the longest standard status, and a count of two digits the widest usual
    # one: the status word gives way (its title keeps it), the gap's badge is never cut.
    lost = uuid_channel(random.Random(9))
    launch = RocketLaunched(type="Starship", launch_speed=1000, mission="ARTEMIS")
    with RocketsClient(server.url) as sdk:
        sdk.send_batch([message(launch, channel=lost, number=n) for n in range(2, 14)])
    page = open_page()
    cell = row(page, lost).locator('td[data-key="status"]')
    stalled = cell.locator(".badge.gap.stalled")
    expect(stalled).to_contain_text("12 stalled", timeout=STALLED_SOON)
    expect(cell.locator(".badge.status")).to_have_attribute("title", "unknown")
    for width in (1280, PHONE["width"]):
        page.set_viewport_size({"width": width, "height": 800})
        expect(cell).to_be_in_viewport()
        within(box(stalled), box(cell))
    # Its detail view says that nothing is applied yet, rather than an empty chart and list.
    page.set_viewport_size({"width": 1280, "height": 800})
    row(page, lost).click()
    expect(page.locator("#timeline-empty")).to_be_visible()
    expect(page.locator("#chart")).to_contain_text("no speed yet")
    expect(page.locator("#timeline li")).to_have_count(0)


def test_the_page_is_locked_down(server: Server) -> None:
    response = httpx.get(server.url)
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "style-src 'self'" in response.headers["content-security-policy"]
    assert "style=" not in response.text  # no inline style, which the CSP would refuse
    assert "<script>" not in response.text
    for name in sorted(p.name for p in STATIC.iterdir() if p.suffix in {".js", ".css"}):
        assert httpx.get(f"{server.url}/dashboard/{name}").status_code == 200, name


BOOMS = """
import msgspec
from rockets import EventType, hookimpl


class Boom(msgspec.Struct, frozen=True):
    x: int


def apply(state, event):
    raise ValueError("no boom today")


@hookimpl
def register_event_types():
    return [EventType(schema=Boom, apply=apply)]
"""


class TestSetAside:
    """A rocket waiting at a message its plugin could not apply (docs/plugins.md)."""

    @pytest.fixture
    def server_env(self, tmp_path: Any) -> dict[str, str]:
        (tmp_path / "booms.py").write_text(BOOMS)
        return {"ROCKETS_PLUGINS_DIR": str(tmp_path)}

    def test_its_badge_and_detail_say_which_message_and_why(
        self, open_page: OpenPage, server: Server
    ) -> None:
        held, lost = "held-rocket", "lost-rocket"
        launch = {"type": "Starship", "launchSpeed": 1000, "mission": "ARTEMIS"}

        def post(channel: str, number: int, kind: str, payload: dict[str, Any]) -> str:
            envelope = {
                "metadata": {"channel": channel, "messageNumber": number, "messageType": kind},
                "message": payload,
            }
            answer = httpx.post(f"{server.url}/messages", json=envelope)
            assert answer.status_code == 202, answer.text
            status: str = answer.json()["status"]
            return status

        page = open_page()
        # #2 waits behind the gap; #1 fills it and is applied, #2 is set aside.
        assert post(held, 2, "Boom", {"x": 1}) == "accepted"
        assert post(held, 1, "RocketLaunched", launch) == "accepted"
        assert post(held, 3, "RocketSpeedIncreased", {"by": 5}) == "accepted"
        badge = row(page, held).locator(".badge.gap.set-aside")
        expect(badge).to_have_text("2 set aside")
        expect(badge.locator("svg.icon-stalled")).to_have_count(1)
        expect(badge).to_have_attribute(
            "title",
            re.compile(
                r"^2 waiting at message 2 \(Boom\) set aside: plugin booms could not apply it: "
                r"ValueError: no boom today"
            ),
        )
        show(page, held)
        expect(page.locator("#detail-gap")).to_have_class(re.compile(r"\bset-aside\b"))
        expect(page.locator("#detail-gap")).to_contain_text("set aside: plugin booms")
        expect(page.locator('#detail-state dd[data-key="setAside"]')).to_contain_text(
            "ValueError: no boom today"
        )
        # A rocket whose first message is set aside has no event of the stream: the page
        # learns of it from GET /stalled, which lists it at once.
        assert post(lost, 1, "Boom", {"x": 1}) == "setAside"
        expect(row(page, lost).locator(".badge.gap.set-aside")).to_have_text(
            "1 set aside", timeout=STALLED_SOON
        )
        expect(page.locator("#gap-stalled")).to_have_attribute(
            "data-count", "2", timeout=STALLED_SOON
        )


def test_whole_channels_at_1400_px_and_the_last_update_is_when_the_rocket_changed(
    open_page: OpenPage, server: Server
) -> None:
    rng = random.Random(14)
    first, second, quiet = sorted(uuid_channel(rng) for _ in range(3))
    launch = RocketLaunched(type="Falcon Heavy", launch_speed=800, mission="ARTEMIS")
    long_ago = "2022-02-02T19:39:05+01:00"  # the messages' own time, which a sender sets
    with RocketsClient(server.url) as sdk:
        sdk.send_batch(
            [message(launch, channel=c, number=1, time=long_ago) for c in (first, second, quiet)]
        )
        page = open_page(viewport={"width": 1400, "height": 800}, clock=True)

        # The channel takes the room the other columns leave: a UUID is shown whole, not cut.
        for channel in (first, second, quiet):
            cell = row(page, channel).locator('td[data-key="channel"]')
            expect(cell.locator(".chan")).to_have_text(channel)
            assert cell.evaluate("td => td.scrollWidth <= td.clientWidth")

        # Rockets the page has not seen change: no time of their own, but their message's.
        updated = {
            c: row(page, c).locator('td[data-key="last-update"]') for c in (first, second, quiet)
        }
        expect(updated[quiet]).to_have_text("earlier")
        expect(updated[quiet]).to_have_attribute("title", re.compile("dated .*2022"))

        # A change shows when the server made it, whatever its message says, and ages.
        sdk.send(RocketSpeedIncreased(by=10), channel=first, number=2, time=long_ago)
        expect(updated[first]).to_have_text("just now")
        page.clock.fast_forward(5000)
        expect(updated[first]).to_have_text(re.compile(r"^([5-9]|\d\d) s ago$"))
        sdk.send(RocketSpeedIncreased(by=10), channel=second, number=2, time=long_ago)
        expect(updated[second]).to_have_text("just now")
    changed = row(page, first).evaluate("tr => new Date(tr._state._changed).toLocaleString()")
    expect(updated[first]).to_have_attribute(
        "title", re.compile(f"^changed at {re.escape(changed)};")
    )

    # Sorted by that time: the oldest change first, the rocket not seen changing last.
    page.click('th[data-key="last-update"]')
    expect(rows(page).first).to_have_attribute("data-channel", first)
    assert channels(page) == [first, second, quiet]
    page.click('th[data-key="last-update"]')
    expect(rows(page).first).to_have_attribute("data-channel", second)
    assert channels(page) == [second, first, quiet]
    assert query(page)["sort"] == ["last-update"]


def test_more_stalled_gaps_than_one_look_reads_are_all_counted(
    open_page: OpenPage, server: Server
) -> None:
    """The page reads a page of the longest-waiting gaps (1,000) and the count of all: 1,500
    stalled gaps are counted whole, and the three longest listed."""
    gaps = [
        message(RocketSpeedIncreased(by=1), channel=f"gap-{n:04d}", number=2) for n in range(1500)
    ]
    with RocketsClient(server.url) as sdk:
        sdk.send_batch(gaps[:1000])
        sdk.send_batch(gaps[1000:])
    page = open_page()
    expect(page.locator("#gap-waiting")).to_have_attribute("data-count", "1500")
    expect(page.locator("#gap-stalled")).to_have_attribute(
        "data-count", "1500", timeout=STALLED_SOON
    )
    expect(page.locator("#stalled-list button")).to_have_count(3)
    with page.expect_request(lambda r: "/stalled" in r.url, timeout=STALLED_SOON) as asked:
        pass
    assert "limit=1000" in asked.value.url
