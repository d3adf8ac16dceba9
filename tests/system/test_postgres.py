"""The PostgreSQL store against a real PostgreSQL: the store contract, and the stateful
ingestion model of tests/unit/test_stateful.py."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import HealthCheck, settings
from litestar.testing import TestClient

from rockets.app import create_app
from rockets.stores import open_store
from rockets.testing.store_contract import (
    CONTRACT_LIMITS,
    StoreContract,
    StoreFactory,
)

from ..conftest import core_settings
from ..unit.test_routes import HOSTILE, launch
from ..unit.test_stateful import LIMITS, Ingestion


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store_factory(self, postgres_url: str) -> StoreFactory:
        return lambda: open_store(f"{postgres_url}?pool_max=4", CONTRACT_LIMITS)


@pytest.fixture
def postgres_machine(postgres_url: str) -> type[Ingestion]:
    # PostgreSQL checks the bound over all channels against a total up to a second old, over
    # the whole database (which keeps the gaps of earlier examples): a verdict that depends on
    # time and on earlier examples would make the model's replays differ. The bound is
    # tested in test_postgres_waiting.py; here the per-channel bound alone refuses.
    limits = msgspec.structs.replace(LIMITS, max_pending_total=10**9, max_pending_bytes=2**40)

    class PostgresIngestion(Ingestion):
        make_store = staticmethod(lambda directory: open_store(postgres_url, limits))
        durable = True

    return PostgresIngestion


def test_postgresql_ingestion(postgres_machine: type[Ingestion]) -> None:
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        postgres_machine,
        settings=settings(
            max_examples=15,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


def test_hostile_path_and_query_values_never_reach_postgresql(postgres_url: str) -> None:
    # NUL is no text to PostgreSQL and 2^63 no bigint: the edge refuses both, as for any store.
    with TestClient(create_app(core_settings(store=postgres_url))) as client:
        client.post("/messages", json=launch("r"))
        for url, source, name in HOSTILE:
            response = client.get(url)
            assert response.status_code == 400, url
            assert response.json()["detail"].startswith(f"{source} parameter {name!r}: "), url
