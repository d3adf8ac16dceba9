"""Plugin objects more than one test module loads with ``create_app(plugins=[...])``."""

from __future__ import annotations

from typing import Any

import msgspec

from rockets import Event, ProjectionType, RocketState, hookimpl


class Seen(msgspec.Struct):
    n: int = 0


class FailingProjection:
    """A projection that cannot take a rocket named ``bad``."""

    @staticmethod
    def apply(value: Seen, event: Event[Any], state: RocketState) -> Seen:
        if state.channel == "bad":
            raise ValueError("no bad rockets")
        return Seen(value.n + 1)

    @hookimpl
    def register_projections(self) -> list[ProjectionType[Any]]:
        return [ProjectionType(name="seen", initial=Seen(), apply=self.apply)]
