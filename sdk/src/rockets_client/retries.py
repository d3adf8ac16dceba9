"""When a request is sent again: the policy (how many tries, how long between them) and the
decision after each try, free of I/O. docs/architecture.md says why this is ours rather than
stamina's or tenacity's."""

from __future__ import annotations

import math
import random
from typing import TypeAlias

import httpx
import msgspec

__all__ = ["NO_RETRY", "Attempt", "Retries", "RetryPolicy", "retry_after"]

Attempt: TypeAlias = httpx.Response | httpx.TransportError
"""How one try of a request ended: with the server's answer, or with the transport's error."""


def retry_after(response: httpx.Response) -> float | None:
    """The server's ``Retry-After`` in seconds, when it is a number of them."""
    value = response.headers.get("retry-after")
    try:
        seconds = float(value) if value is not None else math.nan
    except ValueError:
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How the clients retry. ``RetryPolicy(attempts=1)`` (or ``retry=None``) turns it off.

    Connection errors and the statuses in ``statuses`` are retried with exponential backoff
    (``backoff`` * 2^n, at most ``max_delay``, with jitter), or after the server's
    ``Retry-After`` when it sends one. Resending is safe because the server deduplicates — but
    only for messages that name their channel and number, so a request holding a message
    without them is never resent.
    """

    attempts: int = 5
    backoff: float = 0.05
    max_delay: float = 5.0
    statuses: frozenset[int] = frozenset({429, 503})

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before try number ``attempt + 1`` (``attempt`` counts from 1)."""
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        base: float = min(self.backoff * 2.0 ** (attempt - 1), self.max_delay)
        return base * (0.5 + random.random() / 2)


NO_RETRY = RetryPolicy(attempts=1)


class Retries:
    """The retry decisions of one call: after each try, whether to send it again, and when.

    Args:
        policy: the client's policy.
        retried: whether the call is retried at all (``/health`` is not).
        resendable: whether the request may be sent again once it may have reached the server.
    """

    def __init__(self, policy: RetryPolicy, *, retried: bool, resendable: bool) -> None:
        self._policy = policy
        self._retried = retried
        self._resendable = resendable
        self._tries = 0

    def after(self, attempt: Attempt) -> float | None:
        """Seconds to wait before sending the call again after ``attempt``, or None when
        ``attempt`` is final."""
        self._tries += 1
        if isinstance(attempt, httpx.TransportError):
            return self._policy.delay(self._tries, None) if self._may_resend(attempt) else None
        if attempt.status_code < 400 or not self._may_resend(attempt.status_code):
            return None
        return self._policy.delay(self._tries, retry_after(attempt))

    def _may_resend(self, failure: int | httpx.TransportError) -> bool:
        if not self._retried or self._tries >= self._policy.attempts:
            return False
        if isinstance(failure, httpx.ConnectError):
            return True  # nothing reached the server: safe to send anything again
        if not self._resendable:
            return False
        return isinstance(failure, Exception) or failure in self._policy.statuses
