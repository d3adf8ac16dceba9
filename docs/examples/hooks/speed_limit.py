"""A business rule as a drop-in plugin: no rocket may gain more than 10,000 in one message."""

from __future__ import annotations

from typing import Any

from rockets import Event, hookimpl

LIMIT = 10_000


@hookimpl
def validate_message(event: Event[Any]) -> str | None:
    if event.message_type == "RocketSpeedIncreased" and event.message.by > LIMIT:
        return f"a speed increase of {event.message.by} is more than {LIMIT} at once"
    return None
