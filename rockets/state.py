"""The read model: what the service knows about one rocket right now (the SDK's
:mod:`rockets_client.state`, which client and server share), and the event a plugin's
``apply`` receives."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

import msgspec
from rockets_client.state import INITIAL_STATUS, RocketState, SetAside

__all__ = ["INITIAL_STATUS", "Event", "RocketState", "SetAside"]

P = TypeVar("P")


class Event(msgspec.Struct, Generic[P], frozen=True, kw_only=True):
    """An event as a plugin's ``apply`` function receives it: metadata plus the typed payload."""

    channel: str
    message_number: int
    message_type: str
    message_time: datetime
    received_at: datetime
    message: P
