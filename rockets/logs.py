"""Logging: the request id on every log line (the edge sets it, see rockets.ingress), and JSON
lines if wanted.

Per-message detail is logged at DEBUG (logger ``rockets.ingest``); at INFO the service logs a
summary of what it ingested every ``ROCKETS_LOG_SUMMARY_SECONDS``, never one line per request.
"""

from __future__ import annotations

import contextvars
import logging
import re
from datetime import UTC, datetime
from typing import Any

import msgspec

__all__ = ["JsonFormatter", "RequestIdFilter", "TokenRedactor", "access_log", "request_id"]

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
"""The id of the request being handled (None outside a request)."""

_encoder = msgspec.json.Encoder()


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
