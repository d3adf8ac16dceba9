"""Rocket statuses the standard message types set, and the bound on their text fields."""

from __future__ import annotations

from typing import Annotated

import msgspec

__all__ = ["EXPLODED", "FLYING", "MAX_TEXT", "Text"]

MAX_TEXT = 256
Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]
"""A rocket type, mission or reason: any string, at most 256 characters."""

FLYING = "flying"
EXPLODED = "exploded"
