"""Go-style durations (``500ms``, ``1s``, ``1m30s``, ``0``), as the original test program took."""

from __future__ import annotations

import re

__all__ = ["parse_duration"]

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Seconds in a Go duration string.

    Raises:
        ValueError: the text is not a non-negative Go duration.
    """
    value = text.strip()
    if value == "0":
        return 0.0
    if not value:
        raise ValueError("empty duration")
    total, end = 0.0, 0
    for match in _PART.finditer(value):
        if match.start() != end:
            break
        total += float(match[1]) * _UNITS[match[2]]
        end = match.end()
    if end != len(value) or end == 0:
        raise ValueError(f"invalid duration {text!r}: use e.g. 500ms, 1s, 1m30s or 0")
    return total
