"""Logging: the rockets logger's one format under any server, the request id on every log line
(the edge sets it, see rockets.http.ingress), JSON lines if wanted, and a DEBUG line for every
refused request.

Per-message detail is logged at DEBUG (logger ``rockets.ingest``), each refused request too
(logger ``rockets.refused``); at INFO the service logs a summary of what it ingested and refused
every ``ROCKETS_LOG_SUMMARY_SECONDS``, never one line per request.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import msgspec
from uvicorn.logging import DefaultFormatter

from rockets.wire import UNPRINTABLE, ErrorBody

__all__ = [
    "JsonFormatter",
    "RequestIdFilter",
    "TokenRedactor",
    "access_log",
    "default_logging",
    "log_refusal",
    "request_id",
    "rockets_logging",
]

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
"""The id of the request being handled (None outside a request)."""

_encoder = msgspec.json.Encoder()
_rockets = logging.getLogger("rockets")
_refused = logging.getLogger("rockets.refused")
TEXT_FORMAT = "%(levelprefix)s %(message)s"
"""A line of the rockets logger in text: uvicorn's own format (``INFO:     message``), so that
the server's lines and rockets' read alike."""


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a line is written (as logging's last resort
    does): a handler installed once must not keep a stream that is later replaced."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


def rockets_logging(level: int | str = logging.INFO, *, json: bool = False) -> None:
    """Give the ``rockets`` logger (and its children) their handler: one line per record on
    stderr with the request id at hand, in uvicorn's text format or as JSON, at ``level``; the
    lines do not also go to the root logger's handlers."""
    handler = _Stderr()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if json else DefaultFormatter(TEXT_FORMAT))
    _rockets.handlers = [handler]
    _rockets.propagate = False
    _rockets.setLevel(level.upper() if isinstance(level, str) else level)


def default_logging() -> None:
    """:func:`rockets_logging` as it is by default, unless the ``rockets`` logger has a handler
    already: ``rockets serve`` gave it one (with its ``--log-level`` and ``--log-format``), or
    the application the app runs in did. The app calls it when it starts, so that its lines
    look alike whoever serves it (``litestar run`` would write them in Litestar's format)."""
    if not _rockets.handlers:
        rockets_logging()


def _shown(text: str) -> str:
    """``text`` fit for one log line: a character printable text may not hold (a newline in a
    path, a bidi control in a channel) is written as its escape."""
    return UNPRINTABLE.sub(lambda found: f"\\u{ord(found[0]):04x}", text)


def log_refusal(method: str, path: str, body: ErrorBody) -> None:
    """One DEBUG line (logger ``rockets.refused``) for a request answered ``body`` (a 4xx):
    ``POST /messages: 400 invalid_message at $.message.by: Expected `int` >= 0``. Never the
    query, which may hold a token."""
    if _refused.isEnabledFor(logging.DEBUG):
        at = f" at {_shown(body.path)}" if body.path else ""
        _refused.debug(
            "%s %s: %d %s%s: %s",
            method,
            _shown(path),
            body.status,
            body.error,
            at,
            _shown(body.detail),
        )


def access_log(enabled: bool) -> None:
    """Turn the server's line per request (uvicorn's ``uvicorn.access`` logger) on or off.

    Off by default (``ROCKETS_ACCESS_LOG``): at ingest speed, formatting and writing one line per
    request costs about a third of the throughput. The app applies it when it starts, so that
    ``litestar run`` (which leaves uvicorn's default, on) and ``rockets serve`` behave alike;
    uvicorn skips the line altogether when the logger has no handler.
    """
    logger = logging.getLogger("uvicorn.access")
    if enabled:
        logger.disabled = False
        if not any(isinstance(f, TokenRedactor) for f in logger.filters):
            logger.addFilter(TokenRedactor())
        return
    logger.handlers.clear()
    logger.propagate = False


class TokenRedactor(logging.Filter):
    """Blanks the ``access_token`` query parameter (a read token, as a browser's EventSource
    must send it) in every argument of a log line: access logs must not keep secrets."""

    _TOKEN = re.compile(r"(access_token=)[^&\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(arg, str) and "access_token=" in arg for arg in record.args
        ):
            record.args = tuple(
                self._TOKEN.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (``%(request_id)s``, ``-`` outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid and rid != "-":
            line["requestId"] = rid
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encoder.encode(line).decode()
