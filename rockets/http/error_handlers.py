"""The exception handlers of the Litestar routes: every error answer, whoever raised it, is an
:class:`~rockets.wire.ErrorBody` in JSON; a refusal (a 4xx) gets its DEBUG line, a failure of
the store or of a plugin its one log line, a bug its traceback."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from rockets.errors import InputError, NotFoundError, StoreError, UnreadableEventError
from rockets.http.answers import (
    INTERNAL,
    STORE_UNAVAILABLE,
    TOO_LARGE,
    error,
    not_found,
    parameter_problem,
    retry_after,
    unreadable_event,
)
from rockets.http.logs import log_refusal
from rockets.http.query_rules import value_problem
from rockets.wire import ErrorBody

__all__ = ["exception_handlers"]

log = logging.getLogger("rockets")


def _error_response(body: ErrorBody, headers: dict[str, str] | None = None) -> Response[ErrorBody]:
    return Response(content=body, status_code=body.status, headers=headers)


def _log_and_refuse(
    request: Request[Any, Any, Any], body: ErrorBody, headers: dict[str, str] | None = None
) -> Response[ErrorBody]:
    """The answer that refuses ``request`` with ``body`` (a 4xx), once its DEBUG line is
    written."""
    log_refusal(request.method, request.url.path, body)
    return _error_response(body, headers)


def _on_input_error(request: Request[Any, Any, Any], exc: InputError) -> Response[ErrorBody]:
    return _log_and_refuse(request, exc.body)


def _on_not_found(request: Request[Any, Any, Any], exc: NotFoundError) -> Response[ErrorBody]:
    return _log_and_refuse(request, not_found(exc))


def _parameter(request: Request[Any, Any, Any], key: str) -> tuple[str, Any]:
    """A parameter's name as the API spells it (``from``), where Litestar names the handler's
    argument (``start``), and its type (None: not an argument of the handler)."""
    handler = request.scope.get("route_handler")
    field = handler.parsed_fn_signature.parameters.get(key) if handler is not None else None
    alias = getattr(getattr(field, "kwarg_definition", None), "name", None)
    return (alias if isinstance(alias, str) else key), getattr(field, "annotation", None)


def _on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    status = exc.status_code
    detail = exc.detail
    if status == 413:
        detail = TOO_LARGE.detail
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list) and exc.extra:
        problems = []
        for item in exc.extra:
            if not isinstance(item, dict):
                continue
            name, annotation = _parameter(request, str(item.get("key")))
            source = getattr(item.get("source"), "value", "request")
            problem = value_problem(annotation, str(item.get("message")))
            problems.append(parameter_problem(source, name, problem))
        detail = "; ".join(problems) or detail
    body = error(status, detail)
    if status >= 500:
        return _error_response(body, exc.headers)
    return _log_and_refuse(request, body, exc.headers)


def _on_store_error(request: Request[Any, Any, Any], exc: StoreError) -> Response[ErrorBody]:
    # Not a bug but a store that is down or slow: one line, no traceback, and the client is
    # told to come back, as a write would be.
    log.warning("%s %s: %s", request.method, request.url.path, exc)
    body = STORE_UNAVAILABLE
    return _error_response(body, {"Retry-After": str(retry_after(body.status))})


def _on_unreadable(
    request: Request[Any, Any, Any], exc: UnreadableEventError
) -> Response[ErrorBody]:
    # A log this process's plugins cannot read: no bug of the request, nothing a retry
    # changes, and the sentence says which event and which plugin; no traceback.
    log.error("%s %s: %s", request.method, request.url.path, exc)
    return _error_response(unreadable_event(exc))


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error_response(INTERNAL)


exception_handlers: dict[type[Exception] | int, Any] = {
    InputError: _on_input_error,
    NotFoundError: _on_not_found,
    StoreError: _on_store_error,
    UnreadableEventError: _on_unreadable,
    HTTPException: _on_http_exception,
    Exception: _on_unexpected,
}
"""Every error answer, whoever raised it, is an :class:`~rockets.wire.ErrorBody`."""
