"""The message-type table: messageType → (payload schema, apply function), built once per app
from what the plugins' hooks returned."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar, cast, get_type_hints

import msgspec

from rockets.core.naming import camel_case_problem, served_names_problem
from rockets.core.state_schema import StateSchema, build_state_schema
from rockets.errors import PluginError
from rockets.state import Event, RocketState
from rockets.wire import message_type_of

__all__ = [
    "EventType",
    "ProjectionType",
    "RegisteredType",
    "Registry",
    "build_registry",
    "check_projections",
]

P = TypeVar("P", bound=msgspec.Struct)
V = TypeVar("V", bound=msgspec.Struct)

_PROJECTION_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


class EventType(msgspec.Struct, Generic[P], frozen=True, kw_only=True):
    """What a plugin returns from ``register_event_types``: one message type.

    Attributes:
        schema: the msgspec Struct the ``message`` payload must decode into. Its class name is
            the ``metadata.messageType`` this type answers to (or its ``message_type`` class
            attribute, for a name that is not a Python identifier). Give new fields a default
            and never change a field's type: stored events are decoded with it again.
        apply: ``(state, event) -> new state``, pure (see the ``register_event_types`` hook).
        description: one sentence for the API documentation.
        name: leave it out: the type is named by its schema. When given, it must be the
            schema's name, or the app does not start.
        version: the version of the payload's schema, 1 at first. Stored events keep the
            version they were written in; raise it when the payload changes in a way old
            events do not fit (a field renamed, its type changed), with an upcaster.
        upcasters: ``{n: upcast}`` for every version ``n`` below ``version``: ``upcast`` turns a
            payload of version ``n``, as stored (its JSON as Python dicts, lists and values),
            into one of version ``n + 1``. Old events are brought up to date when they are
            read (replays, ``?at=N``, ``/events``, projections); their stored bytes are never
            rewritten.
    """

    schema: type[P]
    apply: Callable[[RocketState, Event[P]], RocketState]
    description: str = ""
    name: str | None = None
    version: int = 1
    upcasters: Mapping[int, Callable[[Any], Any]] = msgspec.field(default_factory=dict)


class ProjectionType(msgspec.Struct, Generic[V], frozen=True, kw_only=True):
    """What a plugin returns from ``register_projections``: a read model over every event.

    Attributes:
        name: how the API serves it: ``GET /projections/{name}`` (lower case letters, digits,
            ``-`` and ``_``).
        initial: the value before any event, a msgspec Struct.
        apply: ``(value, event, state) -> new value``: the value after one more event, ``state``
            being the rocket's state right after it. Called for every event of every channel in
            log order. Deterministic: the same events give the same value (it is rebuilt from
            the log). It may update ``value`` in place and return it, which large read models
            must; the core keeps only what it returns.
        version: bump it when ``apply`` or the value's shape changes: a value kept by an older
            version is rebuilt from the first event.
        description: one sentence for the API documentation.
        serve: what the API answers for a value (a msgspec Struct), when that is not the value
            itself: a summary of a large value, say. Typed: its return annotation documents
            the route.
    """

    name: str
    initial: V
    apply: Callable[[V, Event[Any], RocketState], V]
    version: int = 1
    description: str = ""
    serve: Callable[[V], Any] | None = None

    def served_type(self) -> Any:
        """The type of what the API answers: ``serve``'s return annotation, or the value's
        own type."""
        if self.serve is None:
            return type(self.initial)
        return get_type_hints(self.serve)["return"]


class RegisteredType(msgspec.Struct, frozen=True, kw_only=True):
    """An :class:`EventType` with the plugin that registered it and its prebuilt decoder."""

    name: str
    event_type: EventType[Any]
    plugin: str
    decoder: msgspec.json.Decoder[Any]

    @property
    def version(self) -> int:
        return self.event_type.version

    def payload_of(self, payload: bytes, version: int) -> Any:
        """The payload Struct of a stored payload written in ``version`` of the schema; an
        older one is brought up to date by the upcasters first.

        Raises:
            PluginError: the payload was written by a newer version than the plugin knows.
        """
        if version == self.event_type.version:
            return self.decoder.decode(payload)
        if version > self.event_type.version:
            raise PluginError(
                f"a {self.name} event was written in version {version} of its payload; plugin "
                f"{self.plugin!r} knows version {self.event_type.version} at most"
            )
        value = msgspec.json.decode(payload)
        for step in range(version, self.event_type.version):
            value = self.event_type.upcasters[step](value)
        return msgspec.convert(value, self.event_type.schema)


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

    def lookup(self, name: str) -> RegisteredType | None:
        """The type registered as ``name``, or None (the Mapping's own ``get`` goes through
        ``__getitem__`` and an exception, and this is asked per event)."""
        return self._types.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._types)

    def __len__(self) -> int:
        return len(self._types)

    @property
    def names(self) -> list[str]:
        """The registered messageType names, sorted."""
        return list(self._types)


def _check(event_type: object, plugin: str) -> tuple[str, EventType[Any]]:
    """The messageType an EventType answers to, once it is known to be valid."""
    if not isinstance(event_type, EventType):
        raise PluginError(
            f"plugin {plugin!r}: register_event_types must return EventType records, "
            f"got {type(event_type).__name__}"
        )
    if not (isinstance(event_type.schema, type) and issubclass(event_type.schema, msgspec.Struct)):
        raise PluginError(
            f"plugin {plugin!r}: an EventType's schema must be a msgspec.Struct class"
        )
    name = message_type_of(event_type.schema)
    if not name.strip():
        raise PluginError(f"plugin {plugin!r}: the schema {event_type.schema!r} declares no name")
    if event_type.name is not None and event_type.name != name:
        raise PluginError(
            f"plugin {plugin!r}: EventType name {event_type.name!r} is not the name its schema "
            f"declares ({name!r}); leave name out, the schema names the type"
        )
    if not callable(event_type.apply):
        raise PluginError(f"plugin {plugin!r}: the apply of {name!r} is not callable")
    version = event_type.version
    if not isinstance(version, int) or version < 1:
        raise PluginError(
            f"plugin {plugin!r}: {name!r} has version {version!r}; versions start at 1"
        )
    steps = set(range(1, version))
    if set(event_type.upcasters) != steps or not all(map(callable, event_type.upcasters.values())):
        raise PluginError(
            f"plugin {plugin!r}: {name!r} is at version {version}, so it needs an upcaster for "
            f"each version below it ({sorted(steps) or 'none'}), got "
            f"{sorted(event_type.upcasters) or 'none'}"
        )
    problem = camel_case_problem(event_type.schema)
    if problem is not None:
        raise PluginError(f"plugin {plugin!r}: the payload of {name!r}: {problem}")
    return name, event_type


def build_registry(
    event_types: Iterable[tuple[str, object]],
    state_extensions: Iterable[tuple[str, object]] = (),
) -> Registry:
    """Build the registry from what the plugins returned.

    Args:
        event_types: ``(plugin name, what its register_event_types returned)`` pairs.
        state_extensions: ``(plugin name, what its extend_rocket_state returned)`` pairs.

    Raises:
        PluginError: a plugin returned something that is not a valid EventType, two plugins
            registered the same messageType, or a state extension is invalid (see
            :func:`rockets.core.state_schema.build_state_schema`).
    """
    found: dict[str, RegisteredType] = {}
    for plugin, returned in event_types:
        for item in cast(Iterable[object], returned or ()):
            name, event_type = _check(item, plugin)
            if name in found:
                raise PluginError(
                    f"messageType {name!r} is registered twice: by plugin "
                    f"{found[name].plugin!r} and by plugin {plugin!r}"
                )
            found[name] = RegisteredType(
                name=name,
                event_type=event_type,
                plugin=plugin,
                decoder=msgspec.json.Decoder(event_type.schema),
            )
    return Registry(found, build_state_schema(state_extensions))


def check_projections(
    offered: Iterable[tuple[str, object]],
) -> list[tuple[str, ProjectionType[Any]]]:
    """The projections plugins returned, checked: ``(plugin, projection)`` pairs.

    Raises:
        PluginError: something is not a ProjectionType, a name is not an API name or is used
            twice, an initial value is not a Struct, an apply is not callable, a version is
            below 1.
    """
    found: dict[str, str] = {}
    checked = []
    for plugin, returned in offered:
        for item in cast(Iterable[object], returned or ()):
            if not isinstance(item, ProjectionType):
                raise PluginError(
                    f"plugin {plugin!r}: register_projections must return ProjectionType "
                    f"records, got {type(item).__name__}"
                )
            if not isinstance(item.name, str) or not _PROJECTION_NAME.match(item.name):
                raise PluginError(
                    f"plugin {plugin!r}: projection name {item.name!r} must be lower case "
                    "letters, digits, '-' and '_', starting with a letter"
                )
            if item.name in found:
                raise PluginError(
                    f"projection {item.name!r} is registered twice: by plugin "
                    f"{found[item.name]!r} and by plugin {plugin!r}"
                )
            if not isinstance(item.initial, msgspec.Struct):
                raise PluginError(
                    f"plugin {plugin!r}: the initial value of projection {item.name!r} must be "
                    "a msgspec Struct"
                )
            if not callable(item.apply) or (item.serve is not None and not callable(item.serve)):
                raise PluginError(
                    f"plugin {plugin!r}: projection {item.name!r} needs a callable apply (and "
                    "serve, when given)"
                )
            if not isinstance(item.version, int) or item.version < 1:
                raise PluginError(
                    f"plugin {plugin!r}: projection {item.name!r} has version "
                    f"{item.version!r}; versions start at 1"
                )
            try:
                served = item.served_type()
            except KeyError:
                raise PluginError(
                    f"plugin {plugin!r}: projection {item.name!r}: serve needs a return "
                    "annotation that names what it answers (def serve(value) -> MyStruct)"
                ) from None
            except (NameError, TypeError) as exc:
                raise PluginError(
                    f"plugin {plugin!r}: projection {item.name!r}: serve's return annotation "
                    f"cannot be read: {exc}"
                ) from None
            problem = served_names_problem(served)
            if problem is not None:
                raise PluginError(f"plugin {plugin!r}: projection {item.name!r}: {problem}")
            found[item.name] = plugin
            checked.append((plugin, item))
    return checked
