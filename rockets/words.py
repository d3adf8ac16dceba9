"""How a count is written in a sentence of the log or the command line: ``1 rocket``,
``2 rockets``."""

from __future__ import annotations

__all__ = ["counted"]


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """``number`` and ``noun``, singular for one and plural (``noun + "s"`` unless given)
    otherwise: ``counted(1, "rocket")`` is ``1 rocket``, ``counted(0, "rocket")`` ``0 rockets``."""
    return f"{number:d} {noun if number == 1 else plural or noun + 's'}"
