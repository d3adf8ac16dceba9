"""What a client is told: the engine's verdicts turned into HTTP answers (status, body,
``Retry-After``), and every canned error sentence of the API, each written once here."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from rockets.core.sequencer import Verdict
from rockets.errors import (
    NotFoundError,
    PoolClosedError,
    PoolFullError,
    StoreError,
    UnreadableEventError,
    ValidatorRefusedError,
)
from rockets.records import Record
from rockets.runtime.engine import Outcome
from rockets.runtime.service import Fate, Ingested
from rockets.state import SetAside
from rockets.wire import (
    MAX_MESSAGE_NUMBER,
    Ack,
    AckStatus,
    ConflictDetail,
    ErrorBody,
    ErrorKind,
    MessageSummary,
)

__all__ = [
    "CLIENT_GONE",
    "INTEGER_IN_DIGITS",
    "INTERNAL",
    "KINDS",
    "MALFORMED_REQUEST",
    "NO_SUCH_DOCS_FILE",
    "NO_SUCH_FILE",
    "NUMBER_IN_DIGITS",
    "RETRY_AFTER_SECONDS",
    "STORE_UNAVAILABLE",
    "TOO_LARGE",
    "TOO_MANY_CONNECTIONS",
    "TOO_MANY_STREAMS",
    "UNAUTHORIZED",
    "IngestAnswer",
    "error",
    "given_more_than_once",
    "headers_too_large",
    "ingest_answer",
    "not_found",
    "one_of",
    "parameter_problem",
    "request_timeout",
    "retry_after",
    "set_aside_detail",
    "unknown_parameter",
    "unsupported_media_type",
    "validator_refusal",
]

log = logging.getLogger("rockets")

RETRY_AFTER_SECONDS = 1
"""What ``Retry-After`` says on a 429 or a 503: the bounds and queues drain within a second."""

KINDS: dict[int, ErrorKind] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "rejected",
    429: "too_many_requests",
    431: "too_large",
    500: "internal",
    503: "unavailable",
}
"""The error kind of an answer known only by its status (Litestar's own errors)."""


def error(status: int, detail: str, kind: ErrorKind | None = None, **extra: Any) -> ErrorBody:
    """An error body; its kind is the status's usual one unless ``kind`` says otherwise."""
    return ErrorBody(
        status=status, error=kind or KINDS.get(status, "error"), detail=detail, **extra
    )


INTERNAL = error(500, "internal error; see the server log")


def unreadable_event(exc: Exception) -> ErrorBody:
    """A read that needs an event this process's plugins cannot read (its sentence says
    which, and what is missing)."""
    return error(500, f"{exc}")


UNAUTHORIZED = error(401, "this request needs 'Authorization: Bearer <token>' with a valid token")
TOO_LARGE = error(413, "the request body is larger than this server accepts")
TOO_MANY_CONNECTIONS = error(503, "too many open connections: retry later")
TOO_MANY_STREAMS = error(503, "too many open streams: retry later, or close one")
CLIENT_GONE = error(400, "the client went away before sending the whole body")
MALFORMED_REQUEST = error(400, "not a valid HTTP/1.1 request")
STORE_UNAVAILABLE = error(503, "the store did not answer: retry later (GET /health says why)")
NO_SUCH_FILE = error(404, "the dashboard has no such file")
NO_SUCH_DOCS_FILE = error(404, "the API documentation has no such file")
INTEGER_IN_DIGITS = (
    "an integer is written in decimal digits, with a leading '-' if negative (no exponent, "
    "fraction, '+' or space)"
)
"""Why a query value such as ``1e3`` or ``1.0`` is refused where an integer is expected."""
NUMBER_IN_DIGITS = (
    "a number is written in decimal digits, with a leading '-' if negative and a fraction after "
    "'.' if any (no exponent, '+', space, inf or nan)"
)
"""Why a query value such as ``1e3`` or ``nan`` is refused where a number is expected."""


def parameter_problem(source: str, name: str, problem: str) -> str:
    """What is wrong with one parameter, naming it as the API spells it: ``query parameter
    'limit': ...``."""
    return f"{source} parameter {name!r}: {problem}"


def one_of(values: Iterable[str]) -> str:
    """What is wrong with a value where few are allowed: the allowed ones."""
    return f"use one of {', '.join(values)}"


def given_more_than_once(times: int) -> str:
    """What is wrong with a query parameter given several times."""
    return f"given {times} times; give it once"


def unknown_parameter(known: Sequence[str], meant: str | None) -> str:
    """What is wrong with a query parameter a route does not take: the ones it takes, and the
    one that was probably ``meant`` (a field's Python name for its JSON name, a typo)."""
    guess = f" (did you mean {meant!r}?)" if meant is not None else ""
    return f"unknown{guess}; this route takes {', '.join(known)}"


def unsupported_media_type(content_type: str) -> ErrorBody:
    return error(415, f"send JSON (Content-Type: application/json), not {content_type!r}")


def headers_too_large(max_bytes: int, max_headers: int) -> ErrorBody:
    return error(431, f"the request's headers are over {max_bytes} bytes or {max_headers} fields")


def request_timeout(seconds: float) -> ErrorBody:
    return error(408, f"the request did not arrive whole within {seconds:g} s")


def retry_after(status: int) -> int | None:
    """The ``Retry-After`` of an answer with ``status``, if it has one."""
    return RETRY_AFTER_SECONDS if status in (429, 503) else None


class IngestAnswer(msgspec.Struct, frozen=True):
    """The HTTP answer to one ``POST /messages``: status, JSON body and optional Retry-After."""

    status_code: int
    body: Ack | list[Ack] | ErrorBody
    retry_after: int | None = None

    @classmethod
    def of(cls, body: ErrorBody) -> IngestAnswer:
        """The answer that carries ``body``."""
        return cls(body.status, body, retry_after(body.status))


class _Refusal(msgspec.Struct, frozen=True):
    """How a message that was not taken is answered: HTTP status, error kind, sentence."""

    status: int
    error: ErrorKind
    detail: str


_REFUSALS = {
    Verdict.CONFLICT: _Refusal(
        409, "conflict", "this number was already received with a different type or payload"
    ),
    Verdict.CHANNEL_FULL: _Refusal(
        429,
        "pending_full",
        "the channel's pending buffer is full: send the messages that fill its gap first",
    ),
    Verdict.ALL_FULL: _Refusal(
        429,
        "pending_full",
        "the pending buffers of all channels hold ROCKETS_MAX_PENDING_TOTAL messages: retry later",
    ),
    Verdict.BYTES_FULL: _Refusal(
        429,
        "pending_full",
        "the pending buffers of all channels hold ROCKETS_MAX_PENDING_BYTES bytes of payloads: "
        "retry later",
    ),
    Verdict.NUMBERS_EXHAUSTED: _Refusal(
        400,
        "numbers_exhausted",
        f"the channel has used messageNumber {MAX_MESSAGE_NUMBER}, the largest there is",
    ),
}
_STORE_FAILED = _Refusal(503, "unavailable", "the store failed and kept nothing: send it again")
_SHUTTING_DOWN = _Refusal(503, "unavailable", "the service is shutting down: send it again")
_INTERNAL = _Refusal(500, INTERNAL.error, INTERNAL.detail)
# A batch's status is that of its most urgent refusal: what a retry may fix comes first.
_PRECEDENCE = (503, 429, 500, 400, 409)


def _refusal(fate: Fate) -> _Refusal | None:
    """How a message that was not taken is answered (None: it was taken)."""
    if isinstance(fate, Outcome):
        return _REFUSALS.get(fate.verdict)
    if isinstance(fate, StoreError):
        return _STORE_FAILED
    if isinstance(fate, UnreadableEventError):
        # Applying it needs an event this process's plugins cannot read: no bug of the request,
        # told in one sentence (and logged so, without a traceback).
        log.error("%s", fate)
        return _Refusal(500, INTERNAL.error, f"{fate}")
    if isinstance(fate, PoolClosedError):
        return _SHUTTING_DOWN
    if isinstance(fate, PoolFullError):
        # Its sentence says which bound the service is at.
        return _Refusal(503, "unavailable", str(fate))
    return _INTERNAL


def set_aside_detail(aside: SetAside) -> str:
    """What the acknowledgement of a message set aside says of it."""
    whose = "no loaded plugin" if aside.plugin is None else f"plugin {aside.plugin!r}"
    return (
        f"kept, not applied: {whose} could not apply it ({aside.error}); the channel waits at "
        "it until a plugin that applies it is loaded"
    )


def _ack(record: Record, fate: Fate, status: AckStatus, detail: str | None = None) -> Ack:
    """The acknowledgement of one message."""
    if isinstance(fate, Outcome):
        record = fate.record  # numbered, if the sender left the number out
        if fate.set_aside is not None and detail is None:
            detail = set_aside_detail(fate.set_aside)
    return Ack(
        channel=record.channel,
        message_number=record.message_number,
        status=status,
        detail=detail,
    )


def _summary(record: Record) -> MessageSummary:
    return MessageSummary(message_type=record.message_type, message=msgspec.Raw(record.payload))


def _refused_single(record: Record, fate: Fate, refusal: _Refusal) -> IngestAnswer:
    """The answer for a request that held one message, which was not taken."""
    if refusal is _INTERNAL:
        assert isinstance(fate, Exception)
        raise fate  # the edge logs it and answers 500
    if isinstance(fate, Outcome):
        record = fate.record
    body = ErrorBody(
        status=refusal.status,
        error=refusal.error,
        detail=refusal.detail,
        channel=record.channel,
        message_number=record.message_number or None,
    )
    if isinstance(fate, Outcome) and fate.existing is not None:
        existing = fate.existing
        detail = (
            f"message {record.message_number} of channel {record.channel!r} was already "
            f"received, as {existing.message_type}, with different content; the first one is "
            "kept"
        )
        conflict = ConflictDetail(existing=_summary(existing), received=_summary(record))
        body = msgspec.structs.replace(body, detail=detail, conflict=conflict)
    return IngestAnswer.of(body)


def ingest_answer(ingested: Ingested) -> IngestAnswer:
    """The answer to a request whose messages met ``ingested``: 202 with an acknowledgement
    per message when every one was taken (kept; a message set aside was kept too, its
    acknowledgement says so); else, for one message, its error; for a batch, an
    acknowledgement per message under the status of its most urgent refusal.

    Raises:
        Exception: a single message failed for a reason that is a bug (its worker's exception,
            for the edge to log and answer 500).
    """
    records, fates, statuses, is_batch = ingested
    if ingested.all_taken:
        acks = [_ack(r, f, s) for r, f, s in zip(records, fates, statuses, strict=True)]
        return IngestAnswer(202, acks if is_batch else acks[0])
    if not is_batch:
        refusal = _refusal(fates[0])
        assert refusal is not None  # not all taken
        return _refused_single(records[0], fates[0], refusal)
    acks = []
    codes = set()
    for record, fate, status in zip(records, fates, statuses, strict=True):
        refusal = _refusal(fate)
        if refusal is _INTERNAL and isinstance(fate, Exception):
            log.error("a batch share failed", exc_info=fate)
        if refusal is not None:
            codes.add(refusal.status)
        acks.append(_ack(record, fate, status, None if refusal is None else refusal.detail))
    code = next((c for c in _PRECEDENCE if c in codes), 202)
    return IngestAnswer(code, acks, retry_after(code))


def validator_refusal(refusal: ValidatorRefusedError) -> ErrorBody:
    """A plugin's validator refused a message of the request."""
    return error(
        422,
        refusal.reason,
        "rejected",
        path=refusal.path,
        plugin=refusal.plugin,
        channel=refusal.channel,
        message_number=refusal.message_number,
    )


def not_found(exc: NotFoundError) -> ErrorBody:
    """A read of something the service does not have."""
    return error(404, str(exc), channel=exc.channel, message_number=exc.message_number)
