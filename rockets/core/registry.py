"""The message-type table: messageType → (payload schema, apply function), built once per app
from what the plugins' hooks returned; and the projections' checks, with the dispatch of their
per-type handlers built once."""

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
    "ProjectionHandler",
    "ProjectionType",
    "RegisteredType",
    "Registry",
    "Upcaster",
    "build_registry",
    "check_projections",
]

P = TypeVar("P", bound=msgspec.Struct)
V = TypeVar("V", bound=msgspec.Struct)
O = TypeVar("O", bound=msgspec.Struct)  # noqa: E741 - the old payload's Struct


class Upcaster(msgspec.Struct, Generic[O], frozen=True):
    """An upcaster from the Struct of an older payload version, as a plugin declares it in
    ``EventType.upcasters``: ``{1: (LandedV1, from_version_1)}`` (the registry holds it as
    this record).

    The stored payload of that version is decoded into ``old`` first, strictly, so that an
    upcaster declared from the wrong Struct fails on the first event it reads (naming the
    plugin, the type and the version) instead of folding into a different state.

    Attributes:
        old: the Struct a payload of that version was written from (keep it as it was).
        upcast: ``old payload → payload of the next version``: an instance of the next
            version's Struct (the current ``schema`` for the last step), or its JSON as dicts,
            lists and values.
    """

    old: type[O]
    upcast: Callable[[O], Any]


ProjectionHandler = Callable[[V, Event[Any], RocketState], V]
"""``(value, event, state) -> new value``: a projection's ``apply``, or one of its handlers (a
handler annotates ``event`` with its own payload: ``Event[RocketLanded]``)."""


def _unchanged(value: Any, event: Event[Any], state: RocketState) -> Any:
    """What a projection does with an event it has no handler for: nothing."""
    return value


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
            payload of version ``n`` into one of version ``n + 1``. Either a pair
            ``(OldStruct, function)``: the stored payload is decoded into ``OldStruct`` (the
            payload's Struct as it was in version ``n``), strictly, and the function returns
            the next version's Struct (the current ``schema``, for the last step); or a plain
            function of the payload as stored (its JSON as Python dicts, lists and values), for
            what a Struct cannot say. Old events are brought up to date when they are read
            (replays, ``?at=N``, ``/events``, projections); their stored bytes are never
            rewritten.
        example: a payload of this type (an instance of ``schema``) for the API
            documentation: the request examples of ``POST /messages`` that "Try it out" sends
            as they stand. Left out, one is made from the schema, with values that fit its
            constraints; give one when a made one would not read like a real message, or when
            the schema has a text pattern. One that does not pass the schema stops the start.
    """

    schema: type[P]
    apply: Callable[[RocketState, Event[P]], RocketState]
    description: str = ""
    name: str | None = None
    version: int = 1
    upcasters: Mapping[
        int, tuple[type[Any], Callable[[Any], Any]] | Upcaster[Any] | Callable[[Any], Any]
    ] = msgspec.field(default_factory=dict)
    example: P | None = None


class ProjectionType(msgspec.Struct, Generic[V], frozen=True, kw_only=True):
    """What a plugin returns from ``register_projections``: a read model over every event.

    Attributes:
        name: how the API serves it: ``GET /projections/{name}`` (lower case letters, digits,
            ``-`` and ``_``).
        initial: the value before any event, a msgspec Struct.
        apply: ``(value, event, state) -> new value``: the value after one more event, ``state``
            being the rocket's state right after it. Called for every event of every channel in
            log order (with ``handlers``, for the events of the types they leave out).
            Deterministic: the same events give the same value (it is rebuilt from the log). It
            may update ``value`` in place and return it, which large read models must; the core
            keeps only what it returns.
        handlers: ``{PayloadStruct: handler}``: a handler per message type, called as ``apply``
            is, for the events of that type only, its ``event`` typed ``Event[PayloadStruct]``.
            Each key must be the schema a loaded plugin registers; the dispatch is built once,
            at start. Give ``handlers``, ``apply``, or both.
        version: bump it when ``apply`` or the value's shape changes: a value kept by an older
            version is rebuilt from the first event.
        description: one sentence for the API documentation.
        serve: what the API answers for a value (a msgspec Struct), when that is not the value
            itself: a summary of a large value, say. Typed: its return annotation documents
            the route.
    """

    name: str
    initial: V
    apply: Callable[[V, Event[Any], RocketState], V] = _unchanged
    handlers: Mapping[type[Any], Callable[[V, Event[Any], RocketState], V]] = msgspec.field(
        default_factory=dict
    )
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
    upcasters: Mapping[int, Upcaster[Any] | Callable[[Any], Any]] = msgspec.field(
        default_factory=dict
    )
    """The type's upcasters, each pair ``(OldStruct, function)`` as an :class:`Upcaster`."""

    @property
    def version(self) -> int:
        return self.event_type.version

    def payload_of(self, payload: bytes, version: int) -> Any:
        """The payload Struct of a stored payload written in ``version`` of the schema; an
        older one is brought up to date by the upcasters first.

        Raises:
            PluginError: the payload was written by a newer version than the plugin knows, or
                does not fit the Struct an :class:`Upcaster` declares, or an upcaster returned
                something else than the next version's payload.
        """
        current = self.event_type.version
        if version == current:
            return self.decoder.decode(payload)
        if version > current:
            raise PluginError(
                f"a {self.name} event was written in version {version} of its payload; plugin "
                f"{self.plugin!r} knows version {current} at most"
            )
        upcasters = self.upcasters
        value: Any = payload
        for step in range(version, current):
            upcaster = upcasters[step]
            if isinstance(upcaster, Upcaster):
                given = "the stored payload" if step == version else "what it was given"
                old = self._fitted(value, upcaster.old, step, given, step == version)
                value = upcaster.upcast(old)
                following = upcasters.get(step + 1)
                wanted = following.old if isinstance(following, Upcaster) else None
                if step + 1 == current:
                    wanted = self.event_type.schema
                strayed = wanted is not None and not isinstance(value, wanted)
                if strayed and isinstance(value, msgspec.Struct):
                    raise PluginError(
                        f"the upcaster of {self.name} from version {step} returned a "
                        f"{type(value).__name__}, not a {getattr(wanted, '__name__', wanted)} "
                        f"(version {step + 1})"
                    )
            else:
                if step == version:
                    value = msgspec.json.decode(value)
                elif isinstance(value, msgspec.Struct):
                    value = msgspec.to_builtins(value)
                value = upcaster(value)
        schema = self.event_type.schema
        if isinstance(value, schema):
            return value
        last = upcasters[current - 1]
        if isinstance(last, Upcaster):
            return self._fitted(value, schema, current - 1, "what its upcaster returned", False)
        return msgspec.convert(value, schema)

    def _fitted(self, value: Any, struct: type[Any], step: int, what: str, raw: bool) -> Any:
        """``value`` (stored bytes when ``raw``) decoded into ``struct``, strictly."""
        if not raw and isinstance(value, struct):
            return value
        try:
            if raw:
                return msgspec.json.decode(value, type=struct)
            if isinstance(value, msgspec.Struct):
                value = msgspec.to_builtins(value)
            return msgspec.convert(value, struct)
        except msgspec.ValidationError as exc:
            raise PluginError(
                f"the upcaster of {self.name} from version {step}: {what} does not fit "
                f"{struct.__name__}: {exc}"
            ) from None


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


def _is_struct_class(value: object) -> bool:
    return isinstance(value, type) and issubclass(value, msgspec.Struct)


def _upcaster(value: object) -> Upcaster[Any] | Callable[[Any], Any] | None:
    """An upcaster as the registry holds it (a pair becomes an :class:`Upcaster`), or None
    when ``value`` is none."""
    if isinstance(value, tuple) and len(value) == 2:
        value = Upcaster(*value)
    if isinstance(value, Upcaster):
        return value if callable(value.upcast) else None
    return value if callable(value) else None


def _check(
    event_type: object, plugin: str
) -> tuple[str, EventType[Any], dict[int, Upcaster[Any] | Callable[[Any], Any]]]:
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
    upcasters = {step: _upcaster(given) for step, given in event_type.upcasters.items()}
    if set(upcasters) != steps or None in upcasters.values():
        raise PluginError(
            f"plugin {plugin!r}: {name!r} is at version {version}, so it needs an upcaster for "
            f"each version below it ({sorted(steps) or 'none'}), got "
            f"{sorted(event_type.upcasters) or 'none'}"
        )
    for step, upcaster in sorted(upcasters.items()):
        if isinstance(upcaster, Upcaster) and not _is_struct_class(upcaster.old):
            raise PluginError(
                f"plugin {plugin!r}: the upcaster of {name!r} from version {step} must name the "
                f"msgspec Struct of that version first, got {upcaster.old!r}"
            )
    problem = camel_case_problem(event_type.schema)
    if problem is not None:
        raise PluginError(f"plugin {plugin!r}: the payload of {name!r}: {problem}")
    _check_example(event_type, name, plugin)
    return name, event_type, {step: u for step, u in upcasters.items() if u is not None}


def _check_example(event_type: EventType[Any], name: str, plugin: str) -> None:
    """An example is a payload the schema accepts, as ``POST /messages`` would decode it."""
    example = event_type.example
    if example is None:
        return
    schema = event_type.schema
    if not isinstance(example, schema):
        raise PluginError(
            f"plugin {plugin!r}: the example of {name!r} must be a {schema.__name__}, got "
            f"{type(example).__name__}"
        )
    try:
        msgspec.json.decode(msgspec.json.encode(example), type=schema)
    except (msgspec.ValidationError, msgspec.EncodeError, TypeError) as exc:
        raise PluginError(
            f"plugin {plugin!r}: the example of {name!r} does not pass its schema: {exc}"
        ) from None


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
            name, event_type, upcasters = _check(item, plugin)
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
                upcasters=upcasters,
            )
    return Registry(found, build_state_schema(state_extensions))


def check_projections(
    offered: Iterable[tuple[str, object]],
    registry: Registry | None = None,
) -> list[tuple[str, ProjectionType[Any]]]:
    """The projections plugins returned, checked: ``(plugin, projection)`` pairs. A projection
    with ``handlers`` comes back with its ``apply`` dispatching to them, by messageType.

    Args:
        offered: ``(plugin name, what its register_projections returned)`` pairs.
        registry: the app's message types, which the keys of ``handlers`` must be registered in
            (without it, a projection with handlers is refused).

    Raises:
        PluginError: something is not a ProjectionType, a name is not an API name or is used
            twice, an initial value is not a Struct, an apply or a handler is not callable, a
            handler is for a type no plugin registers, a version is below 1.
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
            if item.handlers or item.apply is _unchanged:
                item = msgspec.structs.replace(
                    item, apply=_dispatch(plugin, item, registry or Registry({}))
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


def _dispatch(
    plugin: str, projection: ProjectionType[Any], registry: Registry
) -> Callable[[Any, Event[Any], RocketState], Any]:
    """The ``apply`` of a projection with handlers: its handler for an event's type, its own
    ``apply`` for the others, built once (a dictionary lookup per event).

    Raises:
        PluginError: a handler is keyed by something that is not the payload Struct of a
            registered type, or is not callable; the projection has neither handlers nor apply.
    """
    where = f"plugin {plugin!r}: projection {projection.name!r}"
    if not projection.handlers:
        raise PluginError(f"{where} needs an apply or handlers")
    table: dict[str, Callable[[Any, Event[Any], RocketState], Any]] = {}
    for schema, handler in projection.handlers.items():
        if not _is_struct_class(schema):
            raise PluginError(
                f"{where}: a handler is keyed by {schema!r}; key each by its message type's "
                "payload Struct"
            )
        name = message_type_of(schema)
        registered = registry.lookup(name)
        if registered is None:
            raise PluginError(
                f"{where} has a handler for {name!r}, which no loaded plugin registers"
            )
        if registered.event_type.schema is not schema:
            raise PluginError(
                f"{where}: the handler for {name!r} is keyed by {schema.__qualname__} of "
                f"{schema.__module__}, not the schema plugin {registered.plugin!r} registers"
            )
        if not callable(handler):
            raise PluginError(f"{where}: the handler for {name!r} is not callable")
        table[name] = handler
    fallback = projection.apply
    handler_of = table.get

    def apply(value: Any, event: Event[Any], state: RocketState) -> Any:
        handler = handler_of(event.message_type)
        if handler is None:
            return fallback(value, event, state)
        return handler(value, event, state)

    return apply
