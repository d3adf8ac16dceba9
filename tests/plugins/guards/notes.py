"""Routes of a plugin: some behind the tokens, as every route is, some declared public."""

from __future__ import annotations

from collections.abc import Sequence

from litestar import Router, get, post
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath, JSONBody

from rockets import RocketsView, hookimpl

notes: list[str] = []


@get("/fleet-notes")
async def read_notes() -> list[str]:
    return notes


@post("/fleet-notes")
async def add_note(data: JSONBody[str]) -> str:
    notes.append(data)
    return data


@get("/fleet-status", opt={"public": True})
async def status() -> str:
    return "all good"


@get("/{page:str}")
async def page(page: FromPath[str]) -> str:
    return page


@hookimpl
def register_routes(view: RocketsView) -> Sequence[BaseRouteHandler | Router]:
    open_area = Router(path="/open-area", route_handlers=[page], opt={"public": True})
    return [read_notes, add_note, status, open_area]
