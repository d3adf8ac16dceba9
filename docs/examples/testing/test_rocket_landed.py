"""Tests of the drop-in RocketLanded (docs/examples/plugins/rocket_landed.py) with rockets' test
kit. The marker names the plugin; each ``rockets_*`` fixture serves it with the standard types."""

from __future__ import annotations

from pathlib import Path

import pytest
from rockets_standard.messages import RocketLaunched

from rockets.client import AsyncRocketsClient, BadRequestError, RocketsClient, import_plugin_file

# The file, run as the server runs the files of ROCKETS_PLUGINS_DIR (a package's plugin module
# is imported as usual: `import rockets_fuel.plugin`).
landed = import_plugin_file(Path(__file__).parent.parent / "plugins" / "rocket_landed.py")

pytestmark = pytest.mark.rockets_plugins(landed)

LAUNCH = RocketLaunched(type="Falcon-9", launch_speed=900, mission="X")


def test_a_flying_rocket_lands(rockets_client: RocketsClient) -> None:
    rockets_client.send(LAUNCH, channel="demo", number=1)
    rockets_client.send(landed.RocketLanded(site="LZ-1"), channel="demo", number=2)
    rocket = rockets_client.rocket("demo")
    assert (rocket.status, rocket.speed) == ("landed", 0)
    assert rockets_client.rocket("demo", at=1).status == "flying"


def test_a_rocket_on_the_ground_does_not_land(rockets_client: RocketsClient) -> None:
    rockets_client.send(landed.RocketLanded(site="LZ-1"), channel="idle", number=1)
    assert rockets_client.rocket("idle").status == "unknown"


def test_the_payload_is_validated(rockets_client: RocketsClient) -> None:
    with pytest.raises(BadRequestError) as refused:
        rockets_client.send({"site": 5}, message_type="RocketLanded", channel="demo")
    assert refused.value.path == "$.message.site"


def test_the_server_lists_the_plugin(rockets_client: RocketsClient) -> None:
    plugins = {plugin.name: plugin for plugin in rockets_client.plugins().plugins}
    assert plugins["rocket_landed"].source == "registered"  # given by the test, not installed
    assert plugins["rocket_landed"].message_types == ["RocketLanded"]


@pytest.mark.anyio
async def test_the_async_client_reads_the_event_back(
    rockets_async_client: AsyncRocketsClient,
) -> None:
    await rockets_async_client.send(LAUNCH, channel="demo", number=1)
    await rockets_async_client.send(landed.RocketLanded(site="LZ-1"), channel="demo", number=2)
    events = await rockets_async_client.events("demo")
    # The client decodes payloads into the plugins' Structs.
    assert rockets_async_client.payload(events.items[1]) == landed.RocketLanded(site="LZ-1")
