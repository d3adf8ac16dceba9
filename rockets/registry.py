"""The message-type table: messageType → (payload schema, apply function), built once per app."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar, cast

import msgspec
import pluggy

from rockets.errors import PluginError
from rockets.plugins import call_each
from rockets.state import Event, RocketState
from rockets.statetype import StateSchema, build_state_schema

__all__ = ["EventType", "RegisteredType", "Registry", "build_registry"]

P = TypeVar("P", bound=msgspec.Struct)


class EventType(msgspec.Struct, Generic[P], frozen=True, kw_only=True):
    """What a plugin returns from ``register_event_types``: one message type.

    Attributes:
        name: the ``metadata.messageType`` value this type answers to.
        schema: the msgspec Struct the ``message`` payload must decode into. Give new fields a
            default and never change a field's type: stored events are decoded with it again.
        apply: ``(state, event) -> new state``, pure (see the ``register_event_types`` hook).
        description: one sentence for the API documentation.
    """

    name: str
    schema: type[P]
    apply: Callable[[RocketState, Event[P]], RocketState]
    description: str = ""


class RegisteredType(msgspec.Struct, frozen=True, kw_only=True):
    """An :class:`EventType` with the plugin that registered it and its prebuilt decoder."""

    event_type: EventType[Any]
    plugin: str
    decoder: msgspec.json.Decoder[Any]

    @property
    def name(self) -> str:
        return self.event_type.name


class Registry(Mapping[str, RegisteredType]):
    """An immutable mapping of messageType name to its :class:`RegisteredType`, with the app's
    state type (``state``: the built-in fields plus the plugins')."""

    def __init__(
        self, types: Mapping[str, RegisteredType], state: StateSchema | None = None
    ) -> None:
        self._types = dict(sorted(types.items()))
        self.state = state or build_state_schema(())

    def __getitem__(self, name: str) -> RegisteredType:
        return self._types[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._types)

    def __len__(self) -> int:
        return len(self._types)

    @property
    def names(self) -> list[str]:
        """The registered messageType names, sorted."""
        return list(self._types)


def _check(event_type: object, plugin: str) -> EventType[Any]:
    if not isinstance(event_type, EventType):
        raise PluginError(
            f"plugin {plugin!r}: register_event_types must return EventType records, "
            f"got {type(event_type).__name__}"
        )
    if not isinstance(event_type.name, str) or not event_type.name.strip():
        raise PluginError(f"plugin {plugin!r}: an EventType needs a non-empty name")
    if not (isinstance(event_type.schema, type) and issubclass(event_type.schema, msgspec.Struct)):
        raise PluginError(
            f"plugin {plugin!r}: the schema of {event_type.name!r} must be a msgspec.Struct class"
        )
    if not callable(event_type.apply):
        raise PluginError(f"plugin {plugin!r}: the apply of {event_type.name!r} is not callable")
    return event_type


def build_registry(pm: pluggy.PluginManager) -> Registry:
    """Collect every plugin's message types and state fields into a :class:`Registry`.

    Raises:
        PluginError: a plugin returned something that is not a valid EventType, two plugins
            registered the same messageType, or a state extension is invalid (see
            :func:`rockets.statetype.build_state_schema`).
    """
    found: dict[str, RegisteredType] = {}
    # Plugins are asked one by one (first registered first) so that every type can be
    # attributed to its plugin, both in errors and in introspection.
    for plugin, returned in call_each(pm, "register_event_types"):
        for item in cast(Iterable[object], returned or ()):
            event_type = _check(item, plugin)
            if event_type.name in found:
                raise PluginError(
                    f"messageType {event_type.name!r} is registered twice: by plugin "
                    f"{found[event_type.name].plugin!r} and by plugin {plugin!r}"
                )
            found[event_type.name] = RegisteredType(
                event_type=event_type,
                plugin=plugin,
                decoder=msgspec.json.Decoder(event_type.schema),
            )
    return Registry(found, build_state_schema(call_each(pm, "extend_rocket_state")))
