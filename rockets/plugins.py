"""Builds the plugin manager of one app: hookspecs, then entry points, then drop-in files."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path

import pluggy

from rockets import hookspecs
from rockets.errors import PluginError

__all__ = ["build_plugin_manager", "load_directory"]


def build_plugin_manager(
    plugins_dir: str | Path | None = None, blocked: Iterable[str] = ()
) -> pluggy.PluginManager:
    """A fresh plugin manager with every installed and drop-in plugin registered.

    Plugins installed under the ``rockets`` entry-point group load first, then every ``*.py``
    file of ``plugins_dir`` (names starting with ``_`` are skipped), in name order. A plugin
    whose name (entry-point name, or file name without ``.py``) is in ``blocked`` is not loaded.

    Raises:
        PluginError: a plugin fails to import, or implements a hook that does not exist.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for name in blocked:
        pm.set_blocked(name)
    try:
        pm.load_setuptools_entrypoints(hookspecs.PROJECT_NAME)
    except Exception as exc:
        raise PluginError(f"an installed rockets plugin failed to load: {exc!r}") from exc
    if plugins_dir:
        load_directory(pm, Path(plugins_dir))
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {pm.get_name(exc.plugin)!r}: {exc}") from exc
    return pm


def load_directory(pm: pluggy.PluginManager, directory: Path) -> None:
    """Import and register every drop-in plugin file of ``directory``."""
    if not directory.is_dir():
        raise PluginError(f"ROCKETS_PLUGINS_DIR={str(directory)!r} is not a directory")
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        name = path.stem
        if pm.is_blocked(name):
            continue
        if pm.get_plugin(name) is not None:
            raise PluginError(f"drop-in plugin {str(path)!r}: a plugin named {name!r} is loaded")
        module_name = f"rockets_dropin_{name}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise PluginError(f"drop-in plugin {str(path)!r} cannot be imported")
        module = importlib.util.module_from_spec(spec)
        # Registered before it runs, so that msgspec and typing can resolve its annotations.
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[module_name]
            raise PluginError(f"drop-in plugin {str(path)!r} failed to import: {exc!r}") from exc
        try:
            pm.register(module, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"drop-in plugin {str(path)!r}: {exc}") from exc
