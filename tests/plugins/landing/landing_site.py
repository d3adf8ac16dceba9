"""A state-only plugin whose fields have a JSON name other than their Python name
(``last_site`` is ``lastSite``) and few allowed values (``landing``), for the query rules of
``GET /rockets``. Loaded with ROCKETS_PLUGINS_DIR."""

from __future__ import annotations

from typing import Literal

from rockets import RocketState, hookimpl


class LandingState(RocketState, frozen=True, kw_only=True):
    last_site: str | None = None
    landing: Literal["pad", "ship"] | None = None


@hookimpl
def extend_rocket_state() -> type[RocketState]:
    return LandingState
