"""A PostgreSQL peer that stops inside a group's transaction (SIGSTOP, a swapping or partitioned
host) holds that group's rows: another process's request on one of its channels waits on them.
PostgreSQL ends the stopped session after ROCKETS_STORE_IDLE_TIMEOUT, so the wait ends and the
request is served; the stopped process, resumed, finds its connection closed, answers that
request 503 and the next one as usual, and nothing acknowledged is lost. A row held where
PostgreSQL cannot see the holder idle costs a 503 after ROCKETS_STORE_LOCK_TIMEOUT instead.

Each wait is bounded by the request's own timeout (:data:`BOUND`): an answer later than that
fails the test. The helpers, and a probe that prints the waits, are in pg_frozen_peer.py.
"""

from __future__ import annotations

import httpx
import pytest

from rockets.errors import StoreError
from rockets.settings import Settings
from rockets.stores.postgres import PostgresStore
from rockets.testing.store_contract import FOLD, REGISTRY

from ..server import free_port, running
from .pg_frozen_peer import (
    CHANNEL,
    Acknowledged,
    Feed,
    answers_meanwhile,
    frozen_in_a_group,
    held_elsewhere,
    launched,
    serve,
    sped_up,
    two_servers,
)

BOUND = 2.5
"""Seconds a stopped peer may cost another process's request."""


def test_a_stopped_server_holds_no_other_hostage(postgres_url: str) -> None:
    acknowledged = Acknowledged()
    with two_servers(postgres_url) as (frozen, other):
        with Feed(frozen.url, acknowledged) as feed:
            with frozen_in_a_group(frozen, postgres_url, "frozen", feed) as serving:
                # Three clients at once: those that queue behind the first wait no second time.
                answers = answers_meanwhile(other.url, 3, 3, BOUND, acknowledged)
                # Served while the peer is still stopped: its session was ended, not resumed.
                assert [answer.status for answer in answers] == [202] * 9
            feed.wait_for(serving + 2)
            # Resumed, it finds its connection closed: the request it was serving is refused
            # (none of it kept), and the next one is served on a new connection.
            assert feed.answers[serving : serving + 2] == [503, 202]
        # Every message acknowledged, by either process, is kept (read from each).
        assert acknowledged.lost(other.url) == 0
        assert acknowledged.lost(frozen.url) == 0


@pytest.mark.anyio
async def test_a_group_left_open_is_ended_and_its_store_goes_on(postgres_url: str) -> None:
    port = free_port()
    store = PostgresStore.from_url(postgres_url, Settings().limits)
    with running(serve(port, postgres_url, "other"), port) as server:
        await store.open(REGISTRY.state, FOLD)
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=BOUND) as client:
                assert (await client.post("/messages", json=launched())).status_code == 202
                answers = []

                async def stopped_in_a_group() -> None:
                    async with store.group([CHANNEL]):
                        # The group holds the channel's row and says nothing more, as a
                        # stopped process would, while the server is asked to write it.
                        answers.append(await client.post("/messages", json=sped_up()))

                # Going on, the group finds its connection closed.
                with pytest.raises(StoreError, match="postgresql: "):
                    await stopped_in_a_group()
                assert answers[0].status_code == 202, answers[0].text
            # The closed connection is not lent again: the next group is served.
            async with store.group([CHANNEL]) as group:
                state = group.state(CHANNEL)
                assert state is not None
                assert state.last_message_number == 2
        finally:
            await store.close()


def test_a_row_held_past_every_timeout_of_ours_costs_a_503_in_time(postgres_url: str) -> None:
    acknowledged = Acknowledged()
    with two_servers(postgres_url) as (_, other):
        with held_elsewhere(postgres_url):
            # Nothing ends the holder: each wait gives up after ROCKETS_STORE_LOCK_TIMEOUT, and
            # a request queued behind a group that gave up waits once more, still in time.
            answers = answers_meanwhile(other.url, 3, 3, BOUND, acknowledged)
            assert {(answer.status, answer.retry_after) for answer in answers} == {(503, "1")}
        assert answers_meanwhile(other.url, 1, 1, BOUND, acknowledged)[0].status == 202
        assert len(acknowledged.kept) == 1
        assert acknowledged.lost(other.url) == 0
