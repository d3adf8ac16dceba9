"""Settings for tests: the standard types and the plugins under test, nothing else installed; and
settings written as the environment variables a server process reads them from.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec

from rockets.distribution import DISTRIBUTION
from rockets.dropin import PREFIX as DROPIN_PREFIX
from rockets.hookspecs import PROJECT_NAME
from rockets.runtime.plugin_manager import registered_name
from rockets.settings import ENVIRONMENT, Settings

__all__ = ["environment_of", "installed_elsewhere", "served_plugins", "standard_settings"]


def installed_elsewhere() -> tuple[str, ...]:
    """The names of the installed plugins that do not ship with rockets (the entry points of
    other distributions), which :func:`standard_settings` blocks."""
    names = set()
    for entry_point in importlib.metadata.entry_points(group=PROJECT_NAME):
        dist = entry_point.dist
        if dist is None or dist.name != DISTRIBUTION:
            names.add(entry_point.name)
    return tuple(sorted(names))


def standard_settings(**values: Any) -> Settings:
    """Settings whose app loads the standard types (the plugins that ship with rockets) and no
    other installed plugin: a test's own plugins, given to ``create_app(plugins=...)``, meet
    those and nothing else of the environment. ``values`` are settings to change (a store, a
    token...); blocked plugins given there are blocked too.

    Raises:
        SettingsError: a value is of the wrong type or out of range.
    """
    blocked = (*installed_elsewhere(), *values.pop("blocked_plugins", ()))
    return Settings().with_values(blocked_plugins=blocked, **values)


def _written(value: Any) -> str:
    if isinstance(value, tuple | list):
        return ",".join(str(item) for item in value)
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def environment_of(settings: Settings) -> dict[str, str]:
    """The ``ROCKETS_*`` variables that give a server process ``settings``: one for every value
    that is not its default.

    Raises:
        ValueError: a value that differs from its default has no variable, or is None where the
            default is not (a server reading its environment could not be given it).
    """
    defaults = Settings()
    variables = {field: name for name, field in ENVIRONMENT.items()}
    environment = {}
    for field in msgspec.structs.fields(Settings):
        value = getattr(settings, field.name)
        if value == getattr(defaults, field.name):
            continue
        name = variables.get(field.name)
        if name is None or value is None:
            raise ValueError(f"setting {field.name}={value!r} cannot be given to a server process")
        if field.name == "plugin_autoload":  # the variable disables
            environment[name] = "0" if value else "1"
        else:
            environment[name] = _written(value)
    return environment


def served_plugins(settings: Settings, plugins: Iterable[object], folder: Path) -> Settings:
    """``settings`` with what makes a server process load ``plugins`` as well: a module by its
    name (``plugin_modules``), a drop-in file (a module imported with
    :func:`rockets.client.import_plugin_file`) copied into ``folder``, which becomes
    ``plugins_dir`` (with the files of the settings' own ``plugins_dir``). The process knows
    each plugin by the name ``create_app(plugins=...)`` gives it.

    Raises:
        ValueError: a plugin is not a module (a class or an instance lives in this process
            only: put its hooks in a module), or its module cannot be imported by its name.
    """
    modules = list(settings.plugin_modules)
    files: list[Path] = []
    for plugin in plugins:
        if not isinstance(plugin, ModuleType):
            raise ValueError(
                f"plugin {registered_name(plugin)!r} is a {type(plugin).__name__}, not a module: "
                "a server process loads plugins from modules and files only"
            )
        file = getattr(plugin, "__file__", None)
        if plugin.__name__.startswith(DROPIN_PREFIX) and file is not None:
            files.append(Path(file))
        elif plugin.__name__ in sys.modules and plugin.__name__ != "__main__":
            modules.append(plugin.__name__)
        else:
            raise ValueError(f"plugin module {plugin.__name__!r} cannot be imported by its name")
    if not files:
        return settings.with_values(plugin_modules=tuple(modules))
    folder.mkdir(parents=True, exist_ok=True)
    if settings.plugins_dir:
        for path in sorted(Path(settings.plugins_dir).glob("*.py")):
            shutil.copy2(path, folder / path.name)
    for path in files:
        shutil.copy2(path, folder / path.name)
    return settings.with_values(plugin_modules=tuple(modules), plugins_dir=str(folder))
