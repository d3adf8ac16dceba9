"""The ``rockets`` command."""

from __future__ import annotations

import argparse
import asyncio
import copy
import logging.config
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from rockets.errors import RocketsError
from rockets.settings import Settings
from rockets.words import counted

__all__ = ["COMMANDS", "cannot_listen", "cannot_start", "main"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8088

COMMANDS = {
    "serve": "serve the HTTP API",
    "launch": "launch rockets at a server: out of order, with duplicates; optionally verify",
    "rebuild": "fold every rocket's events again (PostgreSQL, after a plugin's apply changed)",
}
"""Every command, with its one line of help (``litestar rockets`` offers launch and rebuild)."""


def cannot_start(reason: object) -> str:
    """The line a start that fails prints on stderr (then exit status 2), under ``rockets
    serve`` and ``litestar run`` alike."""
    return f"rockets: cannot start: {reason}"


def cannot_listen(host: str, port: int, exc: OSError) -> str:
    """:func:`cannot_start`'s line for an address the server cannot listen on."""
    return cannot_start(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


def _serve(args: argparse.Namespace) -> int:

    import uvicorn

    from rockets.app import create_app
    from rockets.http.logs import rockets_logging

    overrides = {
        name: value
        for name, value in (
            ("worker_count", args.workers),
            ("store", args.store),
            ("access_log", args.access_log or None),
        )
        if value is not None
    }
    try:
        settings = Settings.from_env().with_values(**overrides)
        # The protocol below keeps the request deadline, from a request's first byte.
        app = create_app(settings, deadlines="server")
    except RocketsError as exc:
        print(cannot_start(exc), file=sys.stderr)
        return 2
    # The rockets logger's lines look as under any server (the app gives them the same
    # handler when none is set); here with the level and format asked for. uvicorn's own
    # lines get the request id and, with --log-format json, JSON too.
    rockets_logging(args.log_level, json=args.log_format == "json")
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["filters"] = {"request_id": {"()": "rockets.http.logs.RequestIdFilter"}}
    for handler in log_config["handlers"].values():
        handler["filters"] = ["request_id"]
    if args.log_format == "json":
        for name in ("default", "access"):
            log_config["formatters"][name] = {"()": "rockets.http.logs.JsonFormatter"}
    logging.config.dictConfig(log_config)
    from rockets.http.server import BoundServer, listen, server_config

    config = server_config(
        app,
        settings,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        log_config=log_config,
    )
    service = app.service
    # The address is taken first: a port in use (or a host this machine does not have) stops
    # the start before the store is opened.
    try:
        listening = listen(args.host, args.port)
    except OSError as exc:
        print(cannot_listen(args.host, args.port, exc), file=sys.stderr)
        return 2

    async def serve() -> int:
        # The service starts here, before uvicorn, so that a store that cannot open or a plugin
        # that refuses to start is one line on stderr, not a traceback. uvicorn's lifespan then
        # finds it started, and stops it on SIGTERM or SIGINT: requests in flight finish, every
        # queued message is applied, then the store closes.
        try:
            await service.start()
        except RocketsError as exc:
            print(cannot_start(exc), file=sys.stderr)
            return 2
        server = BoundServer(config)
        try:
            await server.serve(sockets=[listening])
        finally:
            await service.stop()
        return 0 if server.started else 1

    # A graceful stop is no failure. Once stopped, uvicorn raises the signal that stopped it
    # again, with the handler it found: SIGTERM's then ends as Ctrl-C's does, in a
    # KeyboardInterrupt, and the exit status is 0 (not 143: `make run` would say "Error 143").
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with listening, asyncio.Runner(loop_factory=_loop_factory()) as runner:
            return runner.run(serve())
    except KeyboardInterrupt:
        return 0


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when installed (as uvicorn itself would choose), asyncio's otherwise."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - depends on the installation
        return None
    return uvloop.new_event_loop


def _launch(args: argparse.Namespace) -> int:
    from rockets.app import load_plugins
    from rockets.launch import LaunchOptions, find_scenario, launch

    try:
        settings = Settings.from_env()
        scenario = find_scenario(load_plugins(settings).launch_scenarios(), args.scenario)
        options = LaunchOptions(
            url=args.url,
            rockets=args.rockets,
            messages=args.messages,
            duplicate_rate=args.duplicates,
            reorder=args.reorder,
            window=args.window,
            seed=args.seed,
            batch_size=args.batch_size,
            message_delay=args.message_delay,
            concurrency=args.concurrency_level,
            verify=args.verify,
            verify_timeout=args.verify_timeout,
            scenario=args.scenario,
        )
    except RocketsError as exc:
        print(f"{args.command_parser.prog}: {exc}", file=sys.stderr)
        return 2
    return launch(options, scenario)


def _rebuild(args: argparse.Namespace) -> int:
    import asyncio

    from rich.progress import Progress

    from rockets.app import build_service
    from rockets.runtime.maintenance import rebuild_states

    try:
        settings = Settings.from_env()
        if args.store is not None:
            settings = settings.with_values(store=args.store)
        service = build_service(settings)
    except RocketsError as exc:
        print(f"{args.command_parser.prog}: {exc}", file=sys.stderr)
        return 2
    store = service.store
    if not store.keeps_states:
        print(f"nothing to rebuild: the {store.name} store rebuilds every state when it starts")
        return 0

    async def run() -> int:
        await service.open_store()
        try:
            with Progress(transient=True) as progress:
                task = progress.add_task("rebuilding", total=await store.count())
                report = await rebuild_states(
                    store, service.registry, lambda n: progress.advance(task, n)
                )
        finally:
            await store.close()
        changed = counted(report.changed, "state")
        print(f"rebuilt {counted(report.rockets, 'rocket')}: {changed} changed")
        return 0

    try:
        return asyncio.run(run())
    except RocketsError as exc:
        print(f"{args.command_parser.prog}: {exc}", file=sys.stderr)
        return 1


def _duration(text: str) -> float:
    from rockets.duration import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _setting_bounds(name: str) -> tuple[int, int]:
    """The bounds of an integer setting, as :class:`Settings` declares them (written there
    only)."""
    import msgspec.inspect

    info = msgspec.inspect.type_info(Settings)
    assert isinstance(info, msgspec.inspect.StructType)
    (kind,) = [field.type for field in info.fields if field.name == name]
    assert isinstance(kind, msgspec.inspect.IntType)
    assert kind.ge is not None
    assert kind.le is not None
    return kind.ge, kind.le


def _bounded(kind: type[int] | type[float], low: float, high: float | None = None) -> Any:
    def convert(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value < low or (high is not None and value > high):
            bounds = f">= {low}" if high is None else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"must be {bounds}: {text}")
        return value

    return convert


def _add_launch(commands: Any) -> None:
    launch = commands.add_parser(
        "launch",
        help=COMMANDS["launch"],
        description=(
            "Invent rockets and post their messages to URL out of order and with duplicates, "
            "like the original challenge's test program. With --verify, wait until the server "
            "holds the expected state of every rocket; exit 1 if it does not."
        ),
    )
    launch.add_argument("url", help="the server, e.g. http://localhost:8088/messages")
    launch.add_argument(
        "--message-delay",
        type=_duration,
        default=0.5,
        metavar="DURATION",
        help="pause of each sender between requests, Go style: 500ms, 1s, 0 (default 500ms)",
    )
    launch.add_argument(
        "--concurrency-level",
        type=_bounded(int, 1),
        default=1,
        metavar="N",
        help="concurrent senders (default 1)",
    )
    launch.add_argument(
        "--rockets", type=_bounded(int, 1), default=5, metavar="N", help="rockets (default 5)"
    )
    launch.add_argument(
        "--messages",
        type=_bounded(int, 1),
        default=20,
        metavar="N",
        help="messages per rocket (default 20)",
    )
    launch.add_argument(
        "--duplicates",
        type=_bounded(float, 0.0, 1.0),
        default=0.1,
        metavar="RATE",
        help="share of messages sent twice, 0 to 1 (default 0.1)",
    )
    launch.add_argument(
        "--reorder",
        choices=["none", "window", "shuffle"],
        default="window",
        help="none: in order; window: shuffled in runs of --window; shuffle: all (default window)",
    )
    launch.add_argument(
        "--window", type=_bounded(int, 1), default=10, metavar="N", help="window size (default 10)"
    )
    launch.add_argument("--seed", type=int, default=None, help="random seed, to replay a run")
    launch.add_argument(
        "--batch-size",
        type=_bounded(int, 1),
        default=1,
        metavar="N",
        help="messages per request; above 1 they go as a batch (default 1)",
    )
    launch.add_argument("--verify", action="store_true", help="check the server's final state")
    launch.add_argument(
        "--verify-timeout",
        type=_duration,
        default=30.0,
        metavar="DURATION",
        help="how long --verify waits for the expected state (default 30s)",
    )
    launch.add_argument(
        "--scenario", default=None, help="the plugins' launch scenario to use (default: first)"
    )
    launch.set_defaults(run=_launch)


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose refusal of the command line is one line on stderr (exit 2),
    as every other mistake that stops a start is, rather than the usage and then the error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _parser(prog: str = "rockets") -> argparse.ArgumentParser:
    parser = _Parser(
        prog=prog,
        description="rockets: serve rocket telemetry, launch test rockets at a server, "
        "rebuild kept states.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help=COMMANDS["serve"])
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address (default {DEFAULT_HOST})")
    serve.add_argument(
        "--port",
        type=_bounded(int, 1, 65535),
        default=DEFAULT_PORT,
        help=f"port, 1 to 65535 (default {DEFAULT_PORT})",
    )
    low, high = _setting_bounds("worker_count")
    serve.add_argument(
        "--workers",
        type=_bounded(int, low, high),
        default=None,
        help=f"asyncio workers that apply messages, {low} to {high} "
        f"(default: ROCKETS_WORKER_COUNT, else {Settings().worker_count})",
    )
    serve.add_argument(
        "--store", default=None, help="store URL (default: ROCKETS_STORE, else memory://)"
    )
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    serve.add_argument(
        "--log-format",
        choices=["text", "json"],
        default="text",
        help="json: one JSON object per line, with the request id (default text)",
    )
    serve.add_argument(
        "--access-log",
        action="store_true",
        help="log one line per request (default: ROCKETS_ACCESS_LOG, else off: it costs "
        "throughput at ingest speed)",
    )
    serve.set_defaults(run=_serve)
    _add_launch(commands)
    rebuild = commands.add_parser("rebuild", help=COMMANDS["rebuild"])
    rebuild.add_argument("--store", default=None, help="store URL (default: ROCKETS_STORE)")
    rebuild.set_defaults(run=_rebuild)
    for command in commands.choices.values():
        command.set_defaults(command_parser=command)
    return parser


def main(argv: Sequence[str] | None = None, *, prog: str = "rockets") -> int:
    """Entry point of the ``rockets`` console script (and of ``litestar rockets``, whose
    ``prog`` it is then)."""
    parser = _parser(prog)
    args, extra = parser.parse_known_args(argv)
    if extra:
        # Said by the command they were given to, as its other refusals are.
        args.command_parser.error(f"unrecognized arguments: {' '.join(extra)}")
    result: int = args.run(args)
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
