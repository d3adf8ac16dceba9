"""A startup that fails with a TimeoutError of its own (a service it waited for): a failure like
any other, not the hook time limit."""

from __future__ import annotations

from rockets import RocketsView, hookimpl


@hookimpl
async def startup(view: RocketsView) -> None:
    raise TimeoutError("the weather service did not answer")
