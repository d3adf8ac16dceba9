"""What ``GET /plugins`` reports: the loaded plugins, their message types and state fields."""

from __future__ import annotations

from typing import Any

import msgspec

from rockets.openapi import json_schema
from rockets.plugins import PluginManager, Source
from rockets.registry import Registry

__all__ = ["MessageTypeInfo", "PluginDescription", "PluginsReport", "StateFieldInfo", "describe"]


class MessageTypeInfo(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A message type: who registered it and the JSON Schema of its ``message`` payload."""

    name: str
    plugin: str
    description: str
    payload_schema: dict[str, Any]


class StateFieldInfo(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A state field a plugin adds: its JSON name, type (as JSON Schema) and default."""

    name: str
    plugin: str
    value_schema: dict[str, Any]
    default: Any


class PluginDescription(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One loaded plugin."""

    name: str
    source: Source
    version: str | None
    distribution: str | None
    module: str | None
    file: str | None
    hooks: list[str]
    message_types: list[str]
    state_fields: list[str]


class PluginsReport(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """The answer of ``GET /plugins``."""

    plugins: list[PluginDescription]
    message_types: list[MessageTypeInfo]
    state_fields: list[StateFieldInfo]


def describe(pm: PluginManager, registry: Registry) -> PluginsReport:
    """Describe what ``pm`` loaded and what its plugins put in ``registry``."""
    message_types = [
        MessageTypeInfo(
            name=name,
            plugin=registered.plugin,
            description=registered.event_type.description,
            payload_schema=json_schema(registered.event_type.schema),
        )
        for name, registered in registry.items()
    ]
    state_fields = [
        StateFieldInfo(
            name=field.json_name,
            plugin=field.plugin,
            value_schema=json_schema(field.type),
            default=field.default_value(),
        )
        for field in registry.state.plugin_fields
        if field.plugin is not None
    ]
    plugins = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda pair: pair[0]):
        if plugin is None:  # blocked
            continue
        info = pm.describe(name)
        plugins.append(
            PluginDescription(
                name=name,
                source=info.source,
                version=info.version,
                distribution=info.distribution,
                module=info.module,
                file=info.file,
                hooks=sorted(caller.name for caller in pm.get_hookcallers(plugin) or ()),
                message_types=[t.name for t in message_types if t.plugin == name],
                state_fields=[f.name for f in state_fields if f.plugin == name],
            )
        )
    return PluginsReport(plugins=plugins, message_types=message_types, state_fields=state_fields)
