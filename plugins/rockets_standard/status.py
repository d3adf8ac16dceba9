"""Rocket statuses the standard message types set, and the bound on their text fields (the
SDK's, which the payloads are declared with)."""

from __future__ import annotations

from rockets_client.standard import MAX_TEXT, Text

__all__ = ["EXPLODED", "FLYING", "MAX_TEXT", "Text"]

FLYING = "flying"
EXPLODED = "exploded"
