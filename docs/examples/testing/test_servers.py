"""Real ``rockets serve`` processes, each loading the plugin too: a restart on SQLite, the live
stream, and a rollout of version 2 on two processes that share a PostgreSQL database."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from rockets_standard.messages import RocketLaunched

from rockets.client import BadRequestError, RocketsClient, StreamedEvent, import_plugin_file
from rockets.testing import Servers

PLUGINS = Path(__file__).parent.parent / "plugins"
v1 = import_plugin_file(PLUGINS / "rocket_landed.py")
v2 = import_plugin_file(PLUGINS / "v2" / "rocket_landed.py")

pytestmark = pytest.mark.rockets_plugins(v1)

LAUNCH = RocketLaunched(type="Falcon-9", launch_speed=900, mission="X")


def test_a_landing_survives_a_restart(rockets_server: Servers, rockets_sqlite_url: str) -> None:
    server = rockets_server(rockets_sqlite_url)
    with RocketsClient(server.url) as client:
        client.send(LAUNCH, channel="r", number=1)
        client.send(v1.RocketLanded(site="LZ-1"), channel="r", number=2)
    code, printed = server.stop()  # SIGTERM: a clean stop, which exits by that signal
    assert code in (0, -signal.SIGTERM), printed
    with RocketsClient(rockets_server(rockets_sqlite_url).url) as client:
        assert client.rocket("r").status == "landed"


def test_the_stream_tells_each_event(rockets_server: Servers) -> None:
    server = rockets_server()
    with RocketsClient(server.url) as client, ThreadPoolExecutor(1) as reader:
        stream = client.stream(channel="r")
        first = reader.submit(next, stream)  # opens the stream, waits for its first item
        server.wait_for_streams(1)  # a new stream is live only: wait until the server has it
        client.send(LAUNCH, channel="r", number=1)
        item = first.result(timeout=30)  # a guard against a hang, not a verdict
    assert isinstance(item.data, StreamedEvent)
    assert item.data.event.message_type == "RocketLaunched"
    assert item.data.state.status == "flying"


def test_a_rollout_of_version_2(rockets_server: Servers, rockets_postgres_url: str) -> None:
    # Mid-rollout: one process still on version 1, one already on version 2.
    old = rockets_server(rockets_postgres_url)
    new = rockets_server(rockets_postgres_url, plugins=[v2])
    with RocketsClient(old.url) as on_old:
        on_old.send(LAUNCH, channel="r", number=1)
        on_old.send(v1.RocketLanded(site="LZ-1"), channel="r", number=2)
    with RocketsClient(new.url, payload_types=[v2.RocketLanded]) as on_new:
        # The new process reads the old event through its upcaster...
        assert on_new.payload(on_new.events("r").items[1]) == v2.RocketLanded(landing_site="LZ-1")
        # ... and refuses the old shape, so senders switch only once every process is upgraded.
        with pytest.raises(BadRequestError):
            on_new.send(v1.RocketLanded(site="LZ-2"), channel="s", number=2)
    old.stop()
    upgraded = rockets_server(rockets_postgres_url, plugins=[v2])
    with RocketsClient(upgraded.url, payload_types=[v2.RocketLanded]) as client:
        versions = {kind.name: kind.version for kind in client.plugins().message_types}
        assert versions["RocketLanded"] == 2
        client.send(LAUNCH, channel="s", number=1)
        client.send(v2.RocketLanded(landing_site="LZ-2", pad="B"), channel="s", number=2)
        assert client.rocket("s").status == "landed"
