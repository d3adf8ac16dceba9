"""How a drop-in plugin file becomes a module: one name per file, registered before it runs.

The server loads ``ROCKETS_PLUGINS_DIR``'s files with :func:`import_file`, and a script that
wants a drop-in's classes (its payload Structs, its state class for the SDK) imports the file
the same way, by path. A module must be in ``sys.modules`` while it runs: msgspec and typing
resolve string annotations (``from __future__ import annotations``, ``ClassVar``) through the
module's entry there, so a file executed without one defines classes whose types cannot be
resolved.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["import_file", "module_name"]

PREFIX = "rockets_dropin_"


def module_name(path: Path) -> str:
    """The module name of the drop-in file ``path``: ``rockets_dropin_`` and the file's stem."""
    return PREFIX + path.stem


def import_file(path: str | Path) -> ModuleType:
    """The drop-in plugin file ``path``, run as the module ``rockets_dropin_<stem>``.

    Each call runs the file anew and replaces the module of that name (a server started
    twice in one process sees the file as it is now).

    Raises:
        ImportError: ``path`` is not a ``.py`` file, or it cannot be loaded; the file's own
            exception, when running it fails (the module is then not kept).
    """
    path = Path(path)
    if path.suffix != ".py" or not path.is_file():
        raise ImportError(f"{str(path)!r} is not a Python file")
    name = module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{str(path)!r} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        if previous is None:
            del sys.modules[name]
        else:
            sys.modules[name] = previous
        raise
    return module
