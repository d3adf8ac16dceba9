"""The process's garbage collector, settled once the service has started.

Everything alive then (modules, the app, its routes and plugins, what a store rebuilt) lives as
long as the process: :func:`gc.freeze` moves it out of the collector's sight, so that a full
collection walks what was made since rather than the whole heap. Those walks were the long
pauses behind the ingest's worst latencies (docs/performance.md).
"""

from __future__ import annotations

import gc

__all__ = ["settle_collector"]

_settled = False


def settle_collector() -> None:
    """Collect what the start left behind, then freeze what remains: once a process (a test
    process builds many apps, and what a freeze holds is never collected)."""
    global _settled
    if _settled:
        return
    _settled = True
    gc.collect()
    gc.freeze()
