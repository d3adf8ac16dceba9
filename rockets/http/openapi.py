"""What the OpenAPI document says beyond what Litestar finds in the handlers' signatures.

Litestar documents a request body only for a typed ``data`` parameter, so the body schema of
``POST /messages`` is built here from the registry (one envelope per message type, or an array
of them); ``GET /rockets`` gets its plugin filters and sortable fields; every answer declares
the headers rockets sends with it (``Retry-After``, ``WWW-Authenticate``, ``Allow``,
``X-Total-Count``). All of it is attached through the routes' ``operation_class``; the error
answers each route declares (its ``responses``) are written here too.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import re
from typing import Any, ClassVar, cast

import msgspec
from litestar.enums import ParamType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Example,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
)
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType

from rockets.core.payload_examples import example_life
from rockets.core.registry import Registry
from rockets.core.state_schema import StateSchema
from rockets.state import RocketState
from rockets.wire import MAX_COUNT, Ack, ErrorBody, Metadata, StatePoint

__all__ = [
    "ANY_REQUEST",
    "EXAMPLE_CHANNEL",
    "PARAMETER_EXAMPLES",
    "DocumentedOperation",
    "as_markdown",
    "error_answers",
    "in_markdown",
    "json_schema",
    "message_body_schema",
    "message_examples",
    "messages_operation_class",
    "operation_class",
    "response_spec",
    "rockets_operation_class",
    "state_point_type",
    "to_openapi",
]

_SCHEMA_FIELDS = {f.metadata.get("alias", f.name): f.name for f in dataclasses.fields(Schema)}
_NESTED_ONE = {"items", "not", "if", "then", "else", "contains", "additionalProperties"}
_NESTED_MANY = {"allOf", "anyOf", "oneOf", "prefixItems"}


def _inline(schema: dict[str, Any], defs: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """Replace every ``$ref`` into ``defs`` by the schema it names (types here never recurse)."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            if name in seen:  # a recursive type: describe it loosely rather than loop
                return {"type": "object", "title": name}
            return _inline(defs[name], defs, (*seen, name))
        return {key: _inline(value, defs, seen) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_inline(item, defs, seen) for item in schema]
    return schema


def json_schema(tp: Any) -> dict[str, Any]:
    """The JSON Schema of a type as msgspec writes it, with every reference inlined and its
    descriptions in Markdown."""
    (schema,), defs = msgspec.json.schema_components([tp], ref_template="#/$defs/{name}")
    inlined: dict[str, Any] = _inline(schema, defs)
    _in_markdown(inlined, set())
    return inlined


_ROLE = re.compile(r":(?:class|func|meth|data|attr|mod|exc|obj):`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")


def as_markdown(text: str) -> str:
    """A docstring's text as the Markdown API documentation renders: its indentation cleaned,
    reStructuredText's ````x```` and ``:class:`x``` written `x`."""
    return _ROLE.sub(r"`\1`", _LITERAL.sub(r"`\1`", inspect.cleandoc(text)))


def _in_markdown(node: Any, seen: set[int]) -> None:
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                node[key] = as_markdown(value)
            else:
                _in_markdown(value, seen)
    elif isinstance(node, list | tuple):
        for item in node:
            _in_markdown(item, seen)
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        for field in dataclasses.fields(node):
            value = getattr(node, field.name)
            if field.name == "description" and isinstance(value, str):
                setattr(node, field.name, as_markdown(value))
            else:
                _in_markdown(value, seen)


def in_markdown(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (the OpenAPI document as a dict) with every description in Markdown, changed
    in place: the Structs' docstrings Litestar takes them from are written in reStructuredText.
    Converting twice changes nothing more."""
    _in_markdown(document, set())
    return document


def to_openapi(schema: dict[str, Any]) -> Schema:
    """Convert a JSON Schema dict (as msgspec writes it) into Litestar's ``Schema`` objects."""
    kwargs: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "$ref":
            return Reference(ref=value)  # type: ignore[return-value]
        name = _SCHEMA_FIELDS.get(key)
        if name is None:
            continue
        if key in _NESTED_ONE and isinstance(value, dict):
            value = to_openapi(value)
        elif key in _NESTED_MANY:
            value = [to_openapi(item) for item in value]
        elif key == "properties":
            value = {prop: to_openapi(sub) for prop, sub in value.items()}
        elif key == "type":
            value = (
                [OpenAPIType(v) for v in value] if isinstance(value, list) else OpenAPIType(value)
            )
        elif key == "description" and isinstance(value, str):
            value = as_markdown(value)
        elif key == "format":
            try:
                value = OpenAPIFormat(value)
            except ValueError:
                continue
        kwargs[name] = value
    return Schema(**kwargs)


def message_body_schema(registry: Registry, max_batch: int) -> dict[str, Any]:
    """The JSON Schema of a ``POST /messages`` body for the types in ``registry``."""
    metadata = json_schema(Metadata)
    envelopes = []
    for name, registered in registry.items():
        meta = copy.deepcopy(metadata)
        meta["properties"]["messageType"] = {"type": "string", "enum": [name]}
        payload = json_schema(registered.event_type.schema)
        envelope: dict[str, Any] = {
            "title": f"{name} message",
            "type": "object",
            "properties": {"metadata": meta, "message": payload},
            "required": ["metadata", "message"],
        }
        if registered.event_type.description:
            envelope["description"] = registered.event_type.description
        envelopes.append(envelope)
    one = {"title": "Message", "oneOf": envelopes}
    batch = {
        "title": "Batch",
        "type": "array",
        "items": {"oneOf": copy.deepcopy(envelopes)},
        "minItems": 1,
        "maxItems": max_batch,
    }
    return {"oneOf": [one, batch]}


EXAMPLE_CHANNEL = "193270a9-c9cf-404a-8f83-838e71d9ae67"
"""The rocket of the document's examples: ``POST /messages``'s examples post to it, and the
routes that read a rocket offer it, so that "Try it out" reads back what it posted."""


def message_examples(registry: Registry, max_batch: int) -> dict[str, Example | Reference]:
    """The named request examples of ``POST /messages``: ``one message`` and ``a batch``, one
    rocket's first messages (:func:`rockets.core.payload_examples.example_life`), numbered from
    1 on :data:`EXAMPLE_CHANNEL`; none when no type has an example. The batch starts with the
    one message, so that sending both, in either order, is a duplicate, never a conflict."""
    life = example_life(registry, EXAMPLE_CHANNEL)[:max_batch]
    envelopes = [
        {
            "metadata": {
                "messageType": example.message_type,
                "channel": EXAMPLE_CHANNEL,
                "messageNumber": number,
            },
            "message": example.payload,
        }
        for number, example in enumerate(life, start=1)
    ]
    if not envelopes:
        return {}
    first = life[0].message_type
    return {
        "one message": Example(
            summary=f"One message: {first}",
            description="Message 1 of the example rocket; sent again, it is a duplicate.",
            value=envelopes[0],
        ),
        "a batch": Example(
            summary=f"A batch: {len(envelopes)} messages of one rocket",
            description="Messages 1 to "
            f"{len(envelopes)} of the example rocket, one of each type, validated all-or-nothing.",
            value=envelopes,
        ),
    }


PARAMETER_EXAMPLES: dict[tuple[str, str], Any] = {
    (ParamType.PATH, "channel"): EXAMPLE_CHANNEL,
    (ParamType.QUERY, "channel"): EXAMPLE_CHANNEL,
    (ParamType.QUERY, "limit"): 10,
    (ParamType.QUERY, "offset"): 0,
    (ParamType.QUERY, "from"): 1,
    (ParamType.QUERY, "sort"): "channel",
    (ParamType.QUERY, "order"): "asc",
}
"""The example of each parameter of the built-in routes that has one, by where it goes and its
name: a request sent with them as they stand is answered (the example rocket, from its first
event, a short page). Filters and ``at`` have none: a page fills examples in, and would filter,
or show an old state, by them."""


def _with_examples(parameters: list[Parameter | Reference]) -> None:
    for parameter in parameters:
        if not isinstance(parameter, Parameter) or parameter.examples or parameter.example:
            continue
        value = PARAMETER_EXAMPLES.get((parameter.param_in, parameter.name))
        if value is not None:
            parameter.examples = {"example": Example(value=value)}


def response_spec(data: Any, description: str) -> ResponseSpec:
    """An answer a route documents: its body's type ``data`` and what it means."""
    # Generated examples would hold empty msgspec.Raw values, which are not JSON.
    return ResponseSpec(data, description=description, generate_examples=False)


_ERRORS = {
    400: response_spec(
        ErrorBody, "Malformed JSON, a schema violation, an unknown type, a bad query"
    ),
    404: response_spec(ErrorBody, "Unknown channel, or event not applied yet"),
    422: response_spec(ErrorBody, "A plugin refused the message; `plugin` and `detail` say why"),
    409: response_spec(
        ErrorBody | list[Ack],
        "A number already taken by another message (a batch: one Ack per message)",
    ),
    401: response_spec(
        ErrorBody, "A token is required (ROCKETS_INGEST_TOKEN / ROCKETS_READ_TOKEN)"
    ),
    405: response_spec(
        ErrorBody,
        "A method the path does not take (`Allow` lists those it takes); HEAD is taken "
        "wherever GET is, but by /stream",
    ),
    408: response_spec(
        ErrorBody,
        "The request did not arrive whole within ROCKETS_REQUEST_TIMEOUT (its head as well as "
        "its body under `rockets serve`)",
    ),
    413: response_spec(ErrorBody, "Request body too large"),
    415: response_spec(ErrorBody, "The body is not sent as JSON"),
    429: response_spec(
        ErrorBody | list[Ack], "Pending buffers full (a batch: one Ack per message)"
    ),
    431: response_spec(
        ErrorBody,
        "The request's head is over ROCKETS_MAX_HEADER_BYTES, or has over ROCKETS_MAX_HEADERS "
        "fields",
    ),
    500: response_spec(ErrorBody, "A bug: the body carries no trace, the server log does"),
    503: response_spec(ErrorBody, "Shutting down or store unavailable; see Retry-After"),
}
ANY_REQUEST = (405, 408, 431, 500)
"""What any request may be answered, whatever its route."""


def error_answers(*codes: int, token: bool) -> dict[int, ResponseSpec]:
    """The error answers a route documents: ``codes``, a 401 where a ``token`` is required,
    and what any request may get (:data:`ANY_REQUEST`), by status."""
    wanted = (*codes, 401) if token else codes
    return {code: _ERRORS[code] for code in sorted({*wanted, *ANY_REQUEST})}


_SECONDS = Schema(type=OpenAPIType.INTEGER, minimum=0)
HEADERS = {
    "Retry-After": OpenAPIHeader(
        schema=_SECONDS, required=True, description="Seconds to wait before sending it again."
    ),
    "WWW-Authenticate": OpenAPIHeader(
        schema=Schema(type=OpenAPIType.STRING),
        required=True,
        description='The scheme the token goes in: `Bearer realm="rockets"`.',
    ),
    "Allow": OpenAPIHeader(
        schema=Schema(type=OpenAPIType.STRING),
        required=True,
        description="The methods the path takes.",
    ),
    "X-Total-Count": OpenAPIHeader(
        schema=Schema(type=OpenAPIType.INTEGER, minimum=0, maximum=MAX_COUNT),
        required=True,
        description="How many there are in all, before `limit` and `offset`.",
    ),
    "X-Position": OpenAPIHeader(
        schema=Schema(type=OpenAPIType.INTEGER, minimum=0),
        required=True,
        description="The log position of the last event the value has taken in.",
    ),
}
"""The headers rockets sends with some answers, as the OpenAPI document declares them."""
_BY_STATUS = {401: "WWW-Authenticate", 405: "Allow", 429: "Retry-After", 503: "Retry-After"}


@dataclasses.dataclass
class DocumentedOperation(Operation):
    """An operation whose answers declare the headers rockets sends with them: by status, and
    ``success_headers`` with a 2xx."""

    success_headers: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        _with_examples(list(self.parameters or []))
        for code, response in (self.responses or {}).items():
            if not isinstance(response, OpenAPIResponse):
                continue
            status = int(code)
            names = self.success_headers if 200 <= status < 300 else ()
            if status in _BY_STATUS:
                names = (*names, _BY_STATUS[status])
            if names:
                response.headers = {**(response.headers or {}), **{n: HEADERS[n] for n in names}}


def operation_class(*success_headers: str) -> type[DocumentedOperation]:
    """A :class:`DocumentedOperation` whose 2xx answer also carries ``success_headers``."""

    @dataclasses.dataclass
    class WithHeaders(DocumentedOperation):
        pass

    WithHeaders.success_headers = success_headers
    return WithHeaders


def state_point_type(state_type: type[RocketState]) -> type[StatePoint]:
    """The ``StatePoint`` of an app whose state type is ``state_type`` (plugins' fields
    included), for the document to describe what ``/history`` sends; one class name, so that
    the document's schema names stay the classes' own."""
    if state_type is RocketState:
        return StatePoint
    point = msgspec.defstruct(
        StatePoint.__name__,
        [("state", state_type)],
        bases=(StatePoint,),
        module=StatePoint.__module__,
        namespace={"__doc__": StatePoint.__doc__},
        frozen=True,
        kw_only=True,
        rename="camel",
    )
    return cast(type[StatePoint], point)


def messages_operation_class(registry: Registry, max_batch: int) -> type[Operation]:
    """An ``Operation`` subclass that documents the request body of ``POST /messages``."""
    schema = to_openapi(message_body_schema(registry, max_batch))

    @dataclasses.dataclass
    class MessagesOperation(DocumentedOperation):
        def __post_init__(self) -> None:
            super().__post_init__()
            # Made with the document, on its first request, not with the app: the examples
            # are ordered by applying them, which calls the plugins' apply functions.
            examples = message_examples(registry, max_batch)
            self.request_body = RequestBody(
                required=True,
                description="One message, or a JSON array of messages validated all-or-nothing.",
                content={
                    "application/json": OpenAPIMediaType(schema=schema, examples=examples or None)
                },
            )

    return MessagesOperation


def rockets_operation_class(schema: StateSchema) -> type[Operation]:
    """An ``Operation`` subclass that documents ``GET /rockets``'s app-specific parameters: the
    fields ``sort`` takes, and an exact-match filter per plugin state field."""
    sortable = list(schema.fields)
    filters = [
        Parameter(
            name=field.json_name,
            param_in=ParamType.QUERY,
            required=False,
            description=f"Exact match on `{field.json_name}` (a state field of plugin "
            f"{field.plugin!r}).",
            schema=to_openapi(json_schema(field.type)),
        )
        for field in schema.plugin_fields
    ]

    @dataclasses.dataclass
    class RocketsOperation(DocumentedOperation):
        success_headers = ("X-Total-Count",)

        def __post_init__(self) -> None:
            super().__post_init__()
            parameters = list(self.parameters or [])
            for parameter in parameters:
                if isinstance(parameter, Parameter) and parameter.name == "sort":
                    parameter.schema = Schema(
                        type=OpenAPIType.STRING, enum=sortable, default="channel"
                    )
                    parameter.description = "The state field to sort by."
            self.parameters = [*parameters, *filters]

    return RocketsOperation
