"""Maintenance on a store while no server writes to it: re-folding kept states."""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from rockets.core.aggregate import apply_records, fold
from rockets.core.registry import Registry
from rockets.stores.base import Commit, Store
from rockets.wire import RocketQuery

__all__ = ["RebuildReport", "rebuild_states"]


class RebuildReport(msgspec.Struct, frozen=True):
    rockets: int
    changed: int


async def rebuild_states(
    store: Store, registry: Registry, advance: Callable[[int], None] = lambda _: None
) -> RebuildReport:
    """Fold every rocket's events again with the plugins now installed and keep the result.

    Needed only for a store that keeps states (PostgreSQL) after a plugin's ``apply`` changed;
    memory and SQLite rebuild every state at start. Each rocket is re-folded while its channel
    is held, so servers may keep running: a message that arrives meanwhile waits, then applies
    on top of the rebuilt state.
    """
    _, states = await store.rockets(RocketQuery())
    changed = 0
    for state in states:
        channel = state.channel
        # Folded before the channel is held: a long log must not keep its row locked (and
        # PostgreSQL ends a session idle in its transaction); what arrived meanwhile is folded
        # on top while it is held.
        folded = fold(registry, channel, await store.events(channel, 1, state.last_message_number))
        async with store.group([channel]) as group:
            current = group.state(channel)
            if current is not None:
                done = folded.last_message_number
                if current.last_message_number > done:
                    more = await store.events(channel, done + 1, current.last_message_number - done)
                    folded = apply_records(registry, folded, more)
                rebuilt = folded.with_bookkeeping(current)
                if rebuilt != current:
                    group.stage(Commit(received=[], applied=[], states=[rebuilt]))
                    changed += 1
        advance(1)
    return RebuildReport(rockets=len(states), changed=changed)
