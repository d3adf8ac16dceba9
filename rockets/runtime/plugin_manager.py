"""Builds the plugin manager of one app: hookspecs, then installed entry points, then modules
named in the settings, then drop-in files, then the plugin objects code hands over (a test's,
say); and remembers where each plugin came from.

Nothing here calls a hook: :class:`rockets.runtime.hooks.PluginHooks` is the one caller.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import inspect
import logging
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

import msgspec
import pluggy

from rockets import hookspecs
from rockets.distribution import DISTRIBUTION
from rockets.dropin import PREFIX as DROPIN_PREFIX
from rockets.dropin import import_file
from rockets.errors import PluginError
from rockets.settings import Settings
from rockets.wire import PluginSource

__all__ = [
    "PluginInfo",
    "PluginManager",
    "build_plugin_manager",
    "load_directory",
    "registered_name",
]

log = logging.getLogger("rockets.plugins")


class PluginInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Where a loaded plugin came from (``source``: see :data:`rockets.wire.PluginSource`)."""

    name: str
    source: PluginSource
    version: str | None = None
    distribution: str | None = None
    module: str | None = None
    file: str | None = None


class PluginManager(pluggy.PluginManager):
    """A pluggy plugin manager that remembers where each plugin came from."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT_NAME)
        self.add_hookspecs(hookspecs)
        self.sources: dict[str, PluginInfo] = {}
        self.offered: set[str] = set()
        """The name of every plugin offered to this manager, loaded or blocked."""
        self.warnings: list[str] = []
        """What loading found worth a WARNING, told when the service starts: the app may be
        built before the logging is set (``litestar run`` builds it to read its routes)."""

    def skips(self, name: str) -> bool:
        """Whether the plugin offered as ``name`` is blocked (and so is not to be loaded)."""
        self.offered.add(name)
        return self.is_blocked(name)

    def describe(self, name: str) -> PluginInfo:
        known = self.sources.get(name)
        if known is not None:
            return known
        plugin = self.get_plugin(name)
        return PluginInfo(name=name, source="registered", module=getattr(plugin, "__name__", None))


def build_plugin_manager(settings: Settings, plugins: Iterable[object] = ()) -> PluginManager:
    """A fresh plugin manager with every plugin the settings name registered, then ``plugins``.

    Loading order: plugins installed under the ``rockets`` entry-point group (unless
    ``plugin_autoload`` is off), then the importable ``plugin_modules``, then every ``*.py``
    file of ``plugins_dir`` (names starting with ``_`` are skipped) in name order, then
    ``plugins``, objects handed over by code (modules, class instances: anything pluggy
    registers), with the source ``registered`` and the name :func:`registered_name` gives. One
    of ``plugins`` that the settings loaded already (the same object, from an entry point, say)
    is loaded once, under the name and source it was loaded with first. A plugin
    whose name (entry-point name, module name, or file name without ``.py``) is in
    ``blocked_plugins`` is skipped; a name there that no plugin was offered under is a warning
    (``warnings``, logged when the service starts: a misspelt name would block nothing). With
    ``trace_hooks``, every hook call is logged (logger ``rockets.hooks``, level INFO).

    Raises:
        PluginError: a plugin fails to import, implements a hook that does not exist, or has the
            name of one already loaded.
    """
    pm = PluginManager()
    for name in settings.blocked_plugins:
        pm.set_blocked(name)
    if settings.plugin_autoload:
        _load_entry_points(pm)
    for module_name in settings.plugin_modules:
        _load_module(pm, module_name)
    if settings.plugins_dir:
        load_directory(pm, Path(settings.plugins_dir))
    for plugin in plugins:
        _load_registered(pm, plugin)
    for name in settings.blocked_plugins:
        if name not in pm.offered:
            pm.warnings.append(
                f"ROCKETS_BLOCKED_PLUGINS names {name!r}, but no plugin of that name was offered "
                "(an entry point, a module of ROCKETS_PLUGINS or a drop-in file): is it misspelt?"
            )
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(_unknown_hook(pm, exc.plugin)) from exc
    if settings.trace_hooks:
        tracer = logging.getLogger("rockets.hooks")
        pm.trace.root.setwriter(lambda text: tracer.info(text.rstrip()))
        pm.enable_tracing()
    return pm


def _register(pm: PluginManager, plugin: object, info: PluginInfo) -> None:
    if pm.get_plugin(info.name) is not None:
        raise PluginError(f"two plugins are named {info.name!r}: rename or block one")
    try:
        pm.register(plugin, name=info.name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {info.name!r}: {exc}") from exc
    pm.sources[info.name] = info
    # pluggy passes over a function named as a hook but not marked: it would never be called.
    implemented = {caller.name for caller in pm.get_hookcallers(plugin) or ()}
    for name in _hook_names(pm):
        if name not in implemented and callable(getattr(plugin, name, None)):
            pm.warnings.append(
                f"plugin {_where(info)} defines {name} without @hookimpl, so it is never "
                "called: decorate it with rockets.hookimpl"
            )


def _hook_names(pm: PluginManager) -> list[str]:
    """The names of the hooks a plugin may implement (the hookspecs)."""
    return sorted(
        name
        for name, caller in vars(pm.hook).items()
        if isinstance(caller, pluggy.HookCaller) and caller.has_spec()
    )


def _where(info: PluginInfo) -> str:
    """A plugin's name, with its file where it is one (a drop-in)."""
    return f"{info.name!r} ({info.file})" if info.source == "file" else repr(info.name)


def _unknown_hook(pm: PluginManager, plugin: object) -> str:
    """What is wrong with ``plugin``, which implements a hook no hookspec declares: the name,
    and the hook it likely meant."""
    name = pm.get_name(plugin) or repr(plugin)
    known = _hook_names(pm)
    unknown = sorted(
        caller.name for caller in pm.get_hookcallers(plugin) or () if not caller.has_spec()
    )
    problems = []
    for hook in unknown:
        meant = difflib.get_close_matches(hook, known, n=1)
        problems.append(f"{hook!r}" + (f" (did you mean {meant[0]!r}?)" if meant else ""))
    return (
        f"plugin {_where(pm.describe(name))} implements a hook that does not exist: "
        f"{', '.join(problems)}; the hooks are listed in docs/plugin_hooks.md"
    )


def _load_entry_points(pm: PluginManager) -> None:
    for entry_point in importlib.metadata.entry_points(group=hookspecs.PROJECT_NAME):
        if pm.skips(entry_point.name):
            continue
        dist = entry_point.dist
        try:
            plugin = entry_point.load()
        except Exception as exc:
            owner = f" (distribution {dist.name})" if dist is not None else ""
            raise PluginError(
                f"plugin {entry_point.name!r}{owner} failed to import {entry_point.value!r}: "
                f"{exc!r}"
            ) from exc
        builtin = dist is not None and dist.name == DISTRIBUTION
        info = PluginInfo(
            name=entry_point.name,
            source="builtin" if builtin else "entrypoint",
            version=dist.version if dist is not None else None,
            distribution=dist.name if dist is not None else None,
            module=entry_point.value,
            file=getattr(plugin, "__file__", None),
        )
        _register(pm, plugin, info)


def _load_module(pm: PluginManager, module_name: str) -> None:
    if pm.skips(module_name):
        return
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise PluginError(
            f"plugin module {module_name!r} (ROCKETS_PLUGINS) failed to import: {exc!r}"
        ) from exc
    if pm.is_registered(module):  # its package's entry point loaded it already
        return
    info = PluginInfo(
        name=module_name,
        source="module",
        module=module_name,
        file=getattr(module, "__file__", None),
    )
    _register(pm, module, info)


def registered_name(plugin: object) -> str:
    """The name a plugin handed over by code is known by: a module's name (a drop-in file's
    stem, for a file imported as the server imports drop-ins), a class's or function's name,
    else the name of the object's class."""
    if isinstance(plugin, ModuleType):
        return plugin.__name__.removeprefix(DROPIN_PREFIX)
    name = getattr(plugin, "__name__", None)
    return name if isinstance(name, str) else type(plugin).__name__


def _load_registered(pm: PluginManager, plugin: object) -> None:
    if pm.is_registered(plugin):
        return
    name = registered_name(plugin)
    if pm.skips(name):
        return
    module = plugin if isinstance(plugin, ModuleType) else inspect.getmodule(plugin)
    info = PluginInfo(
        name=name,
        source="registered",
        module=getattr(module, "__name__", None),
        file=getattr(module, "__file__", None),
    )
    _register(pm, plugin, info)


def load_directory(pm: PluginManager, directory: Path) -> None:
    """Import and register every drop-in plugin file of ``directory``."""
    if not directory.is_dir():
        raise PluginError(f"ROCKETS_PLUGINS_DIR={str(directory)!r} is not a directory")
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        name = path.stem
        if pm.skips(name):
            continue
        if pm.get_plugin(name) is not None:
            raise PluginError(f"drop-in plugin {str(path)!r}: a plugin named {name!r} is loaded")
        try:
            module = import_file(path)
        except Exception as exc:
            raise PluginError(f"drop-in plugin {str(path)!r} failed to import: {exc!r}") from exc
        _register(pm, module, PluginInfo(name=name, source="file", file=str(path)))
