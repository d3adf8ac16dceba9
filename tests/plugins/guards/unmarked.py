"""A plugin whose hook lacks @hookimpl: pluggy passes over it, so it is never called."""

from __future__ import annotations

from rockets import RocketsView


def startup(view: RocketsView) -> None:
    raise AssertionError("never called")
