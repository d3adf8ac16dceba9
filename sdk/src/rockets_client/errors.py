"""Every exception the SDK raises, and which one each error status raises."""

from __future__ import annotations

from rockets_client.wire import Ack, ErrorBody

__all__ = [
    "ApiError",
    "BadRequestError",
    "ClientError",
    "ConflictError",
    "ConnectionFailedError",
    "InvalidResponseError",
    "NotFoundError",
    "PayloadTooLargeError",
    "RateLimitedError",
    "RejectedError",
    "ServerError",
    "StreamIdleError",
    "UnavailableError",
    "error_class",
]


class ClientError(Exception):
    """Base class of every error the SDK raises."""


class ConnectionFailedError(ClientError):
    """The server could not be reached (after every retry)."""


class StreamIdleError(ClientError):
    """A stream heard nothing from the server (no event, no keep-alive comment) for its
    ``idle_timeout``: the server, or the network to it, has stopped answering."""


class InvalidResponseError(ClientError):
    """The server answered with something that is not the JSON rockets sends (a proxy's error
    page, say)."""


class ApiError(ClientError):
    """The server answered with an error status.

    Attributes:
        status: the HTTP status code.
        error: the server's error body, when it sent one.
        acks: for a batch answered 409 or 429, the acknowledgement of every message.
        retry_after: the server's ``Retry-After``, in seconds, when it sent one.
    """

    def __init__(
        self,
        status: int,
        error: ErrorBody | None,
        acks: list[Ack] | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.error = error
        self.acks = acks
        self.retry_after = retry_after
        if error is not None:
            text = error.detail + (f" (at {error.path})" if error.path else "")
        elif acks is not None:
            text = "; ".join(
                f"{a.channel}#{a.message_number} {a.status}: {a.detail}"
                for a in acks
                if a.status in ("conflict", "rejected")
            )
        else:
            text = "no error body"
        super().__init__(f"HTTP {status}: {text}")

    @property
    def detail(self) -> str | None:
        return None if self.error is None else self.error.detail

    @property
    def path(self) -> str | None:
        return None if self.error is None else self.error.path

    @property
    def plugin(self) -> str | None:
        """The plugin that refused the message (a 422), when one did."""
        return None if self.error is None else self.error.plugin


class BadRequestError(ApiError):
    """400: the request is malformed or fails validation; ``path`` says where."""


class NotFoundError(ApiError):
    """404: unknown channel, or an event that is not applied yet."""


class ConflictError(ApiError):
    """409: a message number is taken by another message; ``error.conflict`` has both."""


class PayloadTooLargeError(ApiError):
    """413: the request body is over the server's limit."""


class RejectedError(ApiError):
    """422: a plugin refused the message (a business rule of its ``validate_message`` hook);
    ``plugin`` names it and ``detail`` gives its reason. Sending it again changes nothing."""


class RateLimitedError(ApiError):
    """429: a pending buffer is full; try again after ``retry_after`` seconds."""


class UnavailableError(ApiError):
    """503: the server is shutting down or its store failed; nothing was kept."""


class ServerError(ApiError):
    """Any other 5xx."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: RejectedError,
    429: RateLimitedError,
    503: UnavailableError,
}


def error_class(status: int) -> type[ApiError]:
    """The exception an error ``status`` raises."""
    cls = _BY_STATUS.get(status)
    if cls is not None:
        return cls
    return ServerError if status >= 500 else ApiError
