"""rockets: a plugin-driven event-sourcing server for rocket telemetry.

Plugin authors need :data:`hookimpl`, :class:`EventType`, :class:`Event` and
:class:`RocketState`; the hooks themselves are specified in :mod:`rockets.hookspecs`.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from rockets.hookspecs import hookimpl
from rockets.registry import EventType
from rockets.state import Event, RocketState

__all__ = ["Event", "EventType", "RocketState", "__version__", "hookimpl"]

try:
    __version__ = version("rockets")
except PackageNotFoundError:  # pragma: no cover - running from a tree that was never installed
    __version__ = "0.0.0"
