"""The ``rockets`` command."""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Sequence

import msgspec

from rockets.errors import RocketsError
from rockets.settings import Settings

__all__ = ["main"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8088


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from rockets.app import create_app

    try:
        settings = Settings.from_env()
        if args.workers is not None:
            settings = msgspec.structs.replace(settings, worker_count=args.workers)
        if args.store is not None:
            settings = msgspec.structs.replace(settings, store=args.store)
        app = create_app(settings)
    except RocketsError as exc:
        print(f"rockets: cannot start: {exc}", file=sys.stderr)
        return 2
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["loggers"]["rockets"] = {
        "handlers": ["default"],
        "level": args.log_level.upper(),
        "propagate": False,
    }
    # uvicorn turns SIGTERM and SIGINT into a graceful shutdown: it stops accepting, lets
    # requests in flight finish, then runs the lifespan exit, which drains the worker queues.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        log_config=log_config,
        access_log=args.access_log,
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rockets", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address (default {DEFAULT_HOST})")
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="asyncio workers that apply messages (default: WORKER_COUNT, else 3)",
    )
    serve.add_argument(
        "--store", default=None, help="store URL (default: ROCKETS_STORE, else memory://)"
    )
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    serve.add_argument(
        "--access-log",
        action="store_true",
        help="log one line per request (off by default: it costs throughput at ingest speed)",
    )
    serve.set_defaults(run=_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rockets`` console script."""
    args = _parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
