"""rockets under Litestar's CLI: what ``litestar run`` serves from the repository root (its
``app.py`` calls :func:`app_from_env`), started and stopped as ``rockets serve`` is, and the
``litestar rockets launch`` and ``litestar rockets rebuild`` commands.

A mistake that stops the start is one line on stderr and exit status 2 under both: a setting,
a plugin, the store, the address. ``litestar run`` builds the app as it starts (here, a setting
or a plugin that is wrong), enters :meth:`RocketsCLIPlugin.server_lifespan` (the address), then
has uvicorn start the app (the store, the plugins' ``startup``) before uvicorn binds the address.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click
from litestar import Litestar
from litestar.plugins import CLIPlugin

from rockets.app import RocketsApp, create_app
from rockets.cli import COMMANDS, cannot_listen, cannot_start, main
from rockets.errors import RocketsError
from rockets.http.server import listen
from rockets.settings import Settings

__all__ = ["RocketsCLIPlugin", "app_from_env"]

LITESTAR_COMMANDS = ("launch", "rebuild")
"""The ``rockets`` commands ``litestar rockets`` offers (``litestar run`` is its ``serve``)."""


def _refuse(line: str) -> NoReturn:
    """Stop this process as ``rockets serve`` stops a start that fails: ``line`` on stderr,
    exit status 2."""
    print(line, file=sys.stderr, flush=True)
    raise SystemExit(2)


def _end(exc: RocketsError) -> NoReturn:
    """:func:`_refuse`, from within uvicorn's start: its handlers would turn an exception, even
    SystemExit, into a traceback and exit status 3, so the process ends here (what the start
    opened, it has closed already)."""
    sys.stdout.flush()
    print(cannot_start(exc), file=sys.stderr, flush=True)
    os._exit(2)


class RocketsCLIPlugin(CLIPlugin):
    """The app's plugin of Litestar's CLI: the ``litestar rockets`` commands, and what
    ``litestar run`` does around the server."""

    def on_cli_init(self, cli: click.Group) -> None:
        group = click.Group("rockets", help="The rockets command's launch and rebuild.")
        for name in LITESTAR_COMMANDS:
            group.add_command(_forwarded(name))
        cli.add_command(group)

    @contextmanager
    def server_lifespan(self, app: Litestar) -> Iterator[None]:
        """Around ``litestar run``'s server: the address is tried first (a port in use is one
        line, before the app starts); a start that fails ends the process in one line; a stop
        by SIGTERM or SIGINT, once graceful, exits 0."""
        context = click.get_current_context(silent=True)
        served = context.params if context is not None else {}
        host, port = served.get("host"), served.get("port")
        by_address = served.get("uds") is None and served.get("fd") is None
        if by_address and isinstance(host, str) and isinstance(port, int):
            try:
                listen(host, port).close()
            except OSError as exc:
                _refuse(cannot_listen(host, port, exc))
        if isinstance(app, RocketsApp):
            app.on_start_failure = _end
        # uvicorn, once stopped, raises the signal that stopped it again with the handler it
        # found: SIGTERM's then ends as Ctrl-C's does, in a KeyboardInterrupt, caught below.
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            yield
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)


def _forwarded(name: str) -> click.Command:
    """``litestar rockets NAME …``: the ``rockets NAME`` command itself, given everything that
    follows (its options, its help, its refusals are the rockets command's)."""

    @click.command(
        name,
        help=COMMANDS[name],
        add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
    @click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
    def forward(arguments: tuple[str, ...]) -> None:
        raise SystemExit(main([name, *arguments], prog="litestar rockets"))

    return forward


def app_from_env() -> RocketsApp:
    """The app ``litestar run`` serves: settings from the environment, the standard plugins and
    every installed one, as ``rockets serve`` builds it. A setting or a plugin that is wrong
    ends the process with one line on stderr and exit status 2."""
    try:
        return create_app(Settings.from_env(), extensions=[RocketsCLIPlugin()])
    except RocketsError as exc:
        _refuse(cannot_start(exc))
