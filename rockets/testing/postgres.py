"""A fresh PostgreSQL database per test, on the server ``ROCKETS_TEST_POSTGRES_URL`` names.

A test that needs PostgreSQL fails, in one line saying what to set, when the variable is not
set: it never skips (a skipped test reads as a passed one).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["POSTGRES_URL_VARIABLE", "fresh_database", "missing_postgres", "postgres_admin_url"]

POSTGRES_URL_VARIABLE = "ROCKETS_TEST_POSTGRES_URL"
"""The variable naming a PostgreSQL server the tests may create databases on."""


def postgres_admin_url() -> str | None:
    """The URL of the PostgreSQL server the tests use (:data:`POSTGRES_URL_VARIABLE`), if set:
    a role that may create and drop databases."""
    return os.environ.get(POSTGRES_URL_VARIABLE) or None


def missing_postgres() -> str:
    """The one line a test that needs PostgreSQL fails with, when none is configured."""
    return (
        f"this test needs PostgreSQL: set {POSTGRES_URL_VARIABLE} to a server's URL, with a "
        "role that may create databases (postgresql://user:password@host:5432/postgres)"
    )


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new, empty database on the server of ``admin_url``; its URL, dropped afterwards.

    Raises:
        ImportError: psycopg is not installed (the ``postgres`` extra of rockets-telemetry).
    """
    import psycopg  # the postgres extra: only the tests that ask for a database need it

    name = f"rockets_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
