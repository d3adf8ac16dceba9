"""How a drop-in plugin file becomes a module: the SDK's rule (:mod:`rockets_client.dropin`),
which the server loads ``ROCKETS_PLUGINS_DIR``'s files with, so that a script importing a
drop-in's classes by path gets the module the server would."""

from __future__ import annotations

from rockets_client.dropin import PREFIX, import_file, module_name

__all__ = ["PREFIX", "import_file", "module_name"]
