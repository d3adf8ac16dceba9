"""Rocket statuses the standard message types set."""

from __future__ import annotations

__all__ = ["EXPLODED", "FLYING"]

FLYING = "flying"
EXPLODED = "exploded"
