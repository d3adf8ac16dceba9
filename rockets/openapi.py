"""OpenAPI description of ``POST /messages``, whose handler reads the raw body itself.

Litestar documents a request body only for a typed ``data`` parameter, so the body schema is
built here from the registry (one envelope per message type, or an array of them) and attached
through the route's ``operation_class``.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from typing import Any

import msgspec
from litestar.enums import ParamType
from litestar.openapi.spec import (
    OpenAPIMediaType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
)
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType

from rockets.registry import Registry
from rockets.statetype import StateSchema
from rockets.wire import Metadata

__all__ = [
    "json_schema",
    "message_body_schema",
    "messages_operation_class",
    "rockets_operation_class",
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
    """The JSON Schema of a type as msgspec writes it, with every reference inlined."""
    (schema,), defs = msgspec.json.schema_components([tp], ref_template="#/$defs/{name}")
    inlined: dict[str, Any] = _inline(schema, defs)
    return inlined


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
            value = inspect.cleandoc(value)
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


def messages_operation_class(registry: Registry, max_batch: int) -> type[Operation]:
    """An ``Operation`` subclass that documents the request body of ``POST /messages``."""
    body = RequestBody(
        required=True,
        description="One message, or a JSON array of messages validated all-or-nothing.",
        content={
            "application/json": OpenAPIMediaType(
                schema=to_openapi(message_body_schema(registry, max_batch))
            )
        },
    )

    @dataclasses.dataclass
    class MessagesOperation(Operation):
        def __post_init__(self) -> None:
            self.request_body = body

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
    class RocketsOperation(Operation):
        def __post_init__(self) -> None:
            parameters = list(self.parameters or [])
            for parameter in parameters:
                if isinstance(parameter, Parameter) and parameter.name == "sort":
                    parameter.schema = Schema(
                        type=OpenAPIType.STRING, enum=sortable, default="channel"
                    )
                    parameter.description = "The state field to sort by."
            self.parameters = [*parameters, *filters]

    return RocketsOperation
