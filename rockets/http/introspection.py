"""What ``GET /plugins`` reports: the loaded plugins, their message types and state fields, and
what of theirs has stopped.

The report's Structs are in :mod:`rockets.wire`, shared with the SDK, which decodes the answer.
"""

from __future__ import annotations

import msgspec

from rockets.core.registry import Registry
from rockets.http.openapi import json_schema
from rockets.runtime.plugin_manager import PluginManager
from rockets.runtime.service import RocketService, stopped
from rockets.wire import (
    MessageTypeInfo,
    PluginDescription,
    PluginsReport,
    StateFieldInfo,
)

__all__ = [
    "MessageTypeInfo",
    "PluginDescription",
    "PluginsReport",
    "StateFieldInfo",
    "current",
    "describe",
]


def describe(pm: PluginManager, registry: Registry) -> PluginsReport:
    """Describe what ``pm`` loaded and what its plugins put in ``registry``."""
    message_types = [
        MessageTypeInfo(
            name=name,
            plugin=registered.plugin,
            description=registered.event_type.description,
            payload_schema=json_schema(registered.event_type.schema),
            version=registered.version,
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


def current(report: PluginsReport, service: RocketService) -> PluginsReport:
    """``report`` (made when the app was built) with what changes as the service runs: each
    plugin's faults still open, and where every projection stands. Calls no plugin code."""
    faults = service.faults
    plugins = [
        msgspec.structs.replace(plugin, stopped=[stopped(f) for f in faults.of_plugin(plugin.name)])
        for plugin in report.plugins
    ]
    projections = [running.info() for running in service.projections.running.values()]
    return msgspec.structs.replace(report, plugins=plugins, projections=projections)
