"""The garbage collector is settled once a service has started, once a process."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import gc
from litestar.testing import TestClient
from rockets.app import create_app
from rockets.settings import Settings

freezes = []
freeze = gc.freeze
gc.freeze = lambda: (freezes.append(1), freeze())[1]
assert gc.get_freeze_count() == 0
with TestClient(create_app(Settings())):
    frozen = gc.get_freeze_count()
with TestClient(create_app(Settings())):
    pass
print(frozen, len(freezes))
"""


def test_what_lives_at_start_is_frozen_once_a_process() -> None:
    # In a process of its own: a freeze holds what it froze for the life of the process.
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    frozen, freezes = map(int, done.stdout.split())
    assert frozen > 10_000  # the app, its routes, its plugins, the modules
    assert freezes == 1  # a second app freezes nothing more
