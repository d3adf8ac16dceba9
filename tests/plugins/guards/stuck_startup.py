"""A startup that never returns: it awaits what never comes."""

from __future__ import annotations

import asyncio

from rockets import RocketsView, hookimpl


@hookimpl
async def startup(view: RocketsView) -> None:
    await asyncio.Event().wait()
