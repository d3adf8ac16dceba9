"""Testing an upcaster: the function alone, then the events version 1 stored, read by version 2
(docs/examples/plugins/v2/rocket_landed.py) after a restart on the same SQLite file."""

from __future__ import annotations

from pathlib import Path

import msgspec
from litestar.testing import TestClient
from rockets_standard.messages import RocketLaunched

from rockets.app import create_app
from rockets.client import RocketsClient, import_plugin_file
from rockets.testing import standard_settings

PLUGINS = Path(__file__).parent.parent / "plugins"
v1 = import_plugin_file(PLUGINS / "rocket_landed.py")
v2 = import_plugin_file(PLUGINS / "v2" / "rocket_landed.py")

LAUNCH = RocketLaunched(type="Falcon-9", launch_speed=900, mission="X")


def test_the_upcaster_makes_a_version_2_payload() -> None:
    upcast = v2.from_version_1({"site": "LZ-1"})
    assert msgspec.convert(upcast, v2.RocketLanded) == v2.RocketLanded(landing_site="LZ-1")


def test_version_2_reads_what_version_1_stored(rockets_sqlite_url: str) -> None:
    settings = standard_settings(store=rockets_sqlite_url)
    with TestClient(create_app(settings, plugins=[v1])) as http:
        client = RocketsClient(http=http)
        client.send(LAUNCH, channel="r", number=1)
        client.send(v1.RocketLanded(site="LZ-1"), channel="r", number=2)
    # The same file, served by version 2: the stored bytes stay those of version 1.
    with TestClient(create_app(settings, plugins=[v2])) as http:
        client = RocketsClient(http=http, payload_types=[v2.RocketLanded])
        assert client.rocket("r").status == "landed"  # rebuilt from the upcast event
        event = client.events("r").items[1]
        # /events shows it upcast and encoded again: in version 2, its defaults filled in.
        assert msgspec.json.decode(event.message) == {"landingSite": "LZ-1", "pad": None}
        assert client.payload(event) == v2.RocketLanded(landing_site="LZ-1")
        # The message sent again in version 2 is the one stored: a duplicate, not a conflict.
        again = client.send(v2.RocketLanded(landing_site="LZ-1"), channel="r", number=2)
        assert again.status == "duplicate"
