"""The settings rockets' PostgreSQL sessions are opened with: the store's timeouts, which an
option given in the URL (or PGOPTIONS) overrides."""

from __future__ import annotations

import psycopg

from rockets.settings import Settings
from rockets.stores.connections import session_options

LIMITS = (
    Settings().with_values(store_timeout=2, store_lock_timeout=1, store_idle_timeout=0.8).limits
)


def test_the_store_timeouts_are_session_settings_in_milliseconds() -> None:
    assert session_options(LIMITS) == (
        "-c statement_timeout=2000 -c lock_timeout=1000 -c idle_in_transaction_session_timeout=800"
    )


def test_the_defaults_let_a_stopped_peer_cost_a_request_at_most_two_and_a_half_seconds() -> None:
    settings = Settings()
    # A peer PostgreSQL sees idle is ended before the request gives up waiting: it is served.
    assert settings.store_idle_timeout < settings.store_lock_timeout
    # A holder it cannot see idle costs two waits: the group that gives up, then the next.
    assert 2 * settings.store_lock_timeout < 2.5


def test_postgresql_applies_them_and_an_option_given_wins(postgres_url: str) -> None:
    options = session_options(LIMITS, "-c lock_timeout=7s")
    with psycopg.connect(postgres_url, options=options) as conn:
        shown = [
            conn.execute(f"SHOW {name}").fetchone()
            for name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
        ]
    assert shown == [("2s",), ("7s",), ("800ms",)]
