"""The rocket state type of one app: the built-in fields plus every plugin's own.

Plugins declare their fields as a subclass of :class:`RocketState` (``extend_rocket_state``
hook). The app composes one state type holding all of them, which every part of the server
(aggregate, stores, routes, OpenAPI) uses in place of ``RocketState``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import msgspec

from rockets.core.naming import camel_case_problem
from rockets.errors import PluginError
from rockets.state import RocketState

__all__ = ["RESERVED_NAMES", "StateField", "StateSchema", "build_state_schema"]

RESERVED_NAMES = frozenset({"sort", "order", "limit", "offset", "at", "from"})
"""Query parameters of the API, which a plugin field cannot be named (they double as filters)."""

_BUILT_IN = {f.name: f for f in msgspec.structs.fields(RocketState)}
_NOT_LISTED = frozenset({"set_aside"})
"""Built-in fields a state shows that listings neither sort nor filter on (``setAside``: an
object, absent from nearly every state)."""


class StateField(msgspec.Struct, frozen=True, kw_only=True):
    """One field of the app's state type.

    Attributes:
        name: the Python attribute.
        json_name: the name in JSON (camelCase).
        plugin: the plugin that owns it, None for a built-in field.
        type: its annotation.
        default: its default value (None for ``channel``, which has none, and for a field
            with a default factory).
        default_factory: its default factory, if any.
    """

    name: str
    json_name: str
    plugin: str | None
    type: Any
    default: Any = None
    default_factory: Callable[[], Any] | None = None

    def default_value(self) -> Any:
        """The value a new rocket starts with."""
        return self.default_factory() if self.default_factory is not None else self.default


class StateSchema:
    """The app's state type and what is known about each of its fields (those a listing sorts
    and filters on: every field but ``setAside``)."""

    def __init__(self, state_type: type[RocketState], fields: Iterable[StateField]) -> None:
        self.state_type = state_type
        self.fields: Mapping[str, StateField] = {f.json_name: f for f in fields}
        self.decoder = msgspec.json.Decoder(state_type)

    @property
    def plugin_fields(self) -> list[StateField]:
        return [f for f in self.fields.values() if f.plugin is not None]

    def attribute(self, json_name: str) -> str | None:
        """The attribute behind a JSON field name, or None if the state has no such field."""
        field = self.fields.get(json_name)
        return None if field is None else field.name

    def initial(self, channel: str) -> RocketState:
        """The state of a channel before its first event."""
        return self.state_type(channel=channel)


def _own_fields(plugin: str, extension: object) -> list[StateField]:
    if not (isinstance(extension, type) and issubclass(extension, RocketState)):
        raise PluginError(
            f"plugin {plugin!r}: extend_rocket_state must return a subclass of RocketState"
        )
    added = [f.name for f in msgspec.structs.fields(extension) if f.name not in _BUILT_IN]
    problem = camel_case_problem(extension, added)
    if problem is not None:
        raise PluginError(f"plugin {plugin!r}: its state fields: {problem}")
    own = []
    for info in msgspec.structs.fields(extension):
        built_in = _BUILT_IN.get(info.name)
        if built_in is not None:
            if info != built_in:
                raise PluginError(
                    f"plugin {plugin!r} redefines the built-in state field {info.name!r}; "
                    "add a field with a name of its own instead"
                )
            continue
        if info.default is msgspec.NODEFAULT and info.default_factory is msgspec.NODEFAULT:
            raise PluginError(f"plugin {plugin!r}: state field {info.name!r} needs a default")
        if info.encode_name in RESERVED_NAMES or info.name in RESERVED_NAMES:
            raise PluginError(
                f"plugin {plugin!r}: state field {info.encode_name!r} is named like a query "
                f"parameter of the API ({', '.join(sorted(RESERVED_NAMES))})"
            )
        factory = info.default_factory
        own.append(
            StateField(
                name=info.name,
                json_name=info.encode_name,
                plugin=plugin,
                type=info.type,
                default=None if info.default is msgspec.NODEFAULT else info.default,
                default_factory=None if factory is msgspec.NODEFAULT else factory,
            )
        )
    return own


def build_state_schema(extensions: Iterable[tuple[str, object]]) -> StateSchema:
    """Compose the state type from ``(plugin name, extension)`` pairs (None: no extension).

    Raises:
        PluginError: an extension is not a RocketState subclass, redefines a built-in field,
            lacks a default, uses a reserved name, or adds a field another plugin owns.
    """
    fields = [
        StateField(
            name=f.name, json_name=f.encode_name, plugin=None, type=f.type, default=f.default
        )
        for f in _BUILT_IN.values()
        if f.name not in _NOT_LISTED
    ]
    owners: dict[str, str] = {}
    for plugin, extension in extensions:
        if extension is None:
            continue
        for field in _own_fields(plugin, extension):
            if field.name in owners:
                raise PluginError(
                    f"state field {field.name!r} is added twice: by plugin {owners[field.name]!r} "
                    f"and by plugin {plugin!r}"
                )
            owners[field.name] = plugin
            fields.append(field)
    added = [f for f in fields if f.plugin is not None]
    if not added:
        return StateSchema(RocketState, fields)
    spec = [
        (
            f.name,
            f.type,
            msgspec.field(default_factory=f.default_factory)
            if f.default_factory is not None
            else f.default,
        )
        for f in added
    ]
    state_type = msgspec.defstruct(  # the Struct metaclass makes a RocketState subclass
        "RocketState",
        spec,
        bases=(RocketState,),
        module="rockets.core.state_schema",
        frozen=True,
        kw_only=True,
        rename="camel",
        gc=False,
    )
    return StateSchema(cast(type[RocketState], state_type), fields)
