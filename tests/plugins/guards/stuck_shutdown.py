"""A shutdown that never returns: it awaits what never comes."""

from __future__ import annotations

import asyncio

from rockets import RocketsView, hookimpl


@hookimpl
async def shutdown(view: RocketsView) -> None:
    await asyncio.Event().wait()
