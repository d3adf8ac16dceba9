"""Start a real server process for end-to-end tests (and for the benchmarks): the test kit's
:mod:`rockets.testing.servers`, under the names these tests have always imported."""

from __future__ import annotations

from rockets.testing.servers import BIN, Server, free_port, running, start

__all__ = ["BIN", "Server", "free_port", "running", "start"]
