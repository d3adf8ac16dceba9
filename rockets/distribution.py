"""Which distribution this package is installed as, and its version: the package face and the
plugin loader (which tells the standard plugins from a third party's) read both from here."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["DISTRIBUTION", "installed_version"]

DISTRIBUTION = "rockets-telemetry"
"""The name of the distribution that ships rockets; the import name and the entry-point group
are ``rockets`` (``rockets`` on the package index is an unrelated project). Its entry points are
the builtin plugins."""


def installed_version() -> str:
    """The installed distribution's version (``0.0.0`` for a tree never installed)."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # pragma: no cover - running from a tree never installed
        return "0.0.0"
