"""Configuration, read from the environment once when the app is built."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from typing import Annotated

import msgspec

from rockets.errors import SettingsError
from rockets.wire import in_words

__all__ = ["ENVIRONMENT", "FORMER_NAMES", "NOT_SETTINGS", "Limits", "Settings", "unknown_variables"]

Positive = Annotated[int, msgspec.Meta(ge=1)]
Seconds = Annotated[float, msgspec.Meta(gt=0)]


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """What a store is told to enforce (defaults: :class:`Settings`): the pending-buffer bounds
    of its sequencers, and how long a request may wait for the store's database."""

    max_pending_per_channel: int
    max_pending_total: int
    max_pending_bytes: int
    store_timeout: float
    store_lock_timeout: float
    store_idle_timeout: float


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every setting, with its default: the only place a default is written. See the
    configuration table in README.md."""

    worker_count: Annotated[int, msgspec.Meta(ge=1, le=256)] = 3
    store: str = "memory://"
    plugins_dir: str | None = None
    blocked_plugins: tuple[str, ...] = ()
    plugin_modules: tuple[str, ...] = ()
    plugin_autoload: bool = True
    trace_hooks: bool = False
    max_body_bytes: Positive = 1024 * 1024
    max_batch: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 1000
    max_pending_per_channel: Positive = 1024
    max_pending_total: Positive = 100_000
    max_pending_bytes: Positive = 64 * 1024 * 1024
    max_payload_bytes: Positive = 64 * 1024
    max_queue: Positive = 10_000
    max_queue_bytes: Positive = 64 * 1024 * 1024
    stall_seconds: Seconds = 60.0
    request_timeout: Seconds = 10.0
    keep_alive_timeout: Seconds = 5.0
    shutdown_timeout: Seconds = 30.0
    max_connections: Positive = 1024
    max_header_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 16 * 1024
    max_headers: Positive = 100
    max_streams: Positive | None = None  # a quarter of max_connections: see stream_cap
    max_streams_per_client: Positive = 16
    store_timeout: Seconds = 2.0
    # What a stopped PostgreSQL peer may cost another process's request (at most 2.5 s): its
    # session is ended store_idle_timeout after its last answer, before the request's wait
    # reaches store_lock_timeout, so the request is served. A peer PostgreSQL cannot see idle
    # costs two waits (the group that gives up, then the next one the request joined).
    store_lock_timeout: Seconds = 1.0
    store_idle_timeout: Seconds = 0.8
    ingest_token: str | None = None
    read_token: str | None = None
    cors_origins: tuple[str, ...] = ()
    stream_history: Positive = 10_000
    stream_history_bytes: Positive = 16 * 1024 * 1024
    log_summary_seconds: Seconds = 60.0
    access_log: bool = False
    hook_timeout: Seconds = 10.0
    plugin_call_budget_ms: Annotated[float, msgspec.Meta(gt=0)] = 5.0

    def __post_init__(self) -> None:
        # Else a body the edge takes could never be worked on.
        if self.max_queue_bytes < self.max_body_bytes:
            raise ValueError(
                f"ROCKETS_MAX_QUEUE_BYTES ({self.max_queue_bytes}) must be at least "
                f"ROCKETS_MAX_BODY_BYTES ({self.max_body_bytes})"
            )
        # Streams stay open: below the connection cap, ingest and reads keep their share.
        if self.max_streams is not None and self.max_streams >= self.max_connections:
            raise ValueError(
                f"ROCKETS_MAX_STREAMS ({self.max_streams}) must be below "
                f"ROCKETS_MAX_CONNECTIONS ({self.max_connections})"
            )

    @property
    def stream_cap(self) -> int:
        """How many ``GET /stream`` may be open at once: ``max_streams``, by default a quarter
        of ``max_connections``."""
        return self.max_streams or max(1, self.max_connections // 4)

    @property
    def linger_bytes(self) -> int:
        """How much of a request answered before its body was read (413, 401, 415, 431) is
        still read and thrown away, so that a client that sends its whole body before it reads
        (urllib, requests) reads the answer instead of a reset: one head and twice the body
        limit."""
        return self.max_header_bytes + 2 * self.max_body_bytes

    @property
    def linger_seconds(self) -> float:
        """For how long at most (see ``linger_bytes``): two seconds, or the request deadline
        when it is shorter."""
        return min(2.0, self.request_timeout)

    @property
    def limits(self) -> Limits:
        """The pending-buffer bounds of these settings."""
        return Limits(
            max_pending_per_channel=self.max_pending_per_channel,
            max_pending_total=self.max_pending_total,
            max_pending_bytes=self.max_pending_bytes,
            store_timeout=self.store_timeout,
            store_lock_timeout=self.store_lock_timeout,
            store_idle_timeout=self.store_idle_timeout,
        )

    def with_values(self, **values: object) -> Settings:
        """These settings with some values replaced, validated like the environment's.

        Raises:
            SettingsError: a value is of the wrong type or out of range.
        """
        merged = {**msgspec.structs.asdict(self), **values}
        try:
            return msgspec.convert(merged, type(self))
        except msgspec.ValidationError as exc:
            field = str(exc).rpartition("`$.")[2].rstrip("`") or "?"
            raise SettingsError(f"invalid setting {field}: {in_words(str(exc))}") from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables (``os.environ`` by default).

        Raises:
            SettingsError: a variable is set to a value of the wrong type or out of range, or a
                variable and its former name (:data:`FORMER_NAMES`) are set to different values.
        """
        environ = os.environ if environ is None else environ
        read = {var: environ[var] for var in (*ENVIRONMENT, *FORMER_NAMES) if environ.get(var)}
        for old, new in FORMER_NAMES.items():
            if old in read and new in read and read[old].strip() != read[new].strip():
                raise SettingsError(
                    f"invalid settings: {old}={read[old]!r} and {new}={read[new]!r} disagree; "
                    f"set {new} only"
                )
            if old in read and new not in read:
                read[new] = read[old]
            read.pop(old, None)
        given: dict[str, object] = {ENVIRONMENT[var]: value for var, value in read.items()}
        for listed in ("blocked_plugins", "plugin_modules", "cors_origins"):
            if listed in given:
                names = str(given[listed]).split(",")
                given[listed] = [name.strip() for name in names if name.strip()]
        if "plugin_autoload" in given:
            # The variable disables: any non-empty value other than 0/false turns autoload off.
            given["plugin_autoload"] = str(given["plugin_autoload"]).lower() in ("0", "false")
        try:
            return msgspec.convert(given, cls, strict=False)
        except msgspec.ValidationError as exc:
            var = next((v for v, f in ENVIRONMENT.items() if f"`$.{f}`" in str(exc)), None)
            if var is None:
                raise SettingsError(f"invalid settings: {in_words(str(exc))}") from None
            given_as = var if var in environ else _FORMERLY.get(var, var)
            raise SettingsError(
                f"invalid setting {given_as}={environ[given_as]!r}: {in_words(str(exc))}"
            ) from None


ENVIRONMENT: dict[str, str] = {
    "ROCKETS_WORKER_COUNT": "worker_count",
    "ROCKETS_STORE": "store",
    "ROCKETS_PLUGINS_DIR": "plugins_dir",
    "ROCKETS_BLOCKED_PLUGINS": "blocked_plugins",
    "ROCKETS_PLUGINS": "plugin_modules",
    "ROCKETS_DISABLE_PLUGIN_AUTOLOAD": "plugin_autoload",
    "ROCKETS_TRACE_HOOKS": "trace_hooks",
    "ROCKETS_MAX_PAYLOAD_BYTES": "max_payload_bytes",
    "ROCKETS_MAX_QUEUE": "max_queue",
    "ROCKETS_MAX_QUEUE_BYTES": "max_queue_bytes",
    "ROCKETS_STALL_SECONDS": "stall_seconds",
    "ROCKETS_REQUEST_TIMEOUT": "request_timeout",
    "ROCKETS_KEEP_ALIVE_TIMEOUT": "keep_alive_timeout",
    "ROCKETS_SHUTDOWN_TIMEOUT": "shutdown_timeout",
    "ROCKETS_MAX_CONNECTIONS": "max_connections",
    "ROCKETS_MAX_HEADER_BYTES": "max_header_bytes",
    "ROCKETS_MAX_HEADERS": "max_headers",
    "ROCKETS_MAX_STREAMS": "max_streams",
    "ROCKETS_MAX_STREAMS_PER_CLIENT": "max_streams_per_client",
    "ROCKETS_STORE_TIMEOUT": "store_timeout",
    "ROCKETS_STORE_LOCK_TIMEOUT": "store_lock_timeout",
    "ROCKETS_STORE_IDLE_TIMEOUT": "store_idle_timeout",
    "ROCKETS_INGEST_TOKEN": "ingest_token",
    "ROCKETS_READ_TOKEN": "read_token",
    "ROCKETS_CORS_ORIGINS": "cors_origins",
    "ROCKETS_STREAM_HISTORY": "stream_history",
    "ROCKETS_STREAM_HISTORY_BYTES": "stream_history_bytes",
    "ROCKETS_LOG_SUMMARY_SECONDS": "log_summary_seconds",
    "ROCKETS_ACCESS_LOG": "access_log",
    "ROCKETS_HOOK_TIMEOUT": "hook_timeout",
    "ROCKETS_PLUGIN_CALL_BUDGET_MS": "plugin_call_budget_ms",
    "ROCKETS_MAX_BODY_BYTES": "max_body_bytes",
    "ROCKETS_MAX_BATCH": "max_batch",
    "ROCKETS_MAX_PENDING_PER_CHANNEL": "max_pending_per_channel",
    "ROCKETS_MAX_PENDING_TOTAL": "max_pending_total",
    "ROCKETS_MAX_PENDING_BYTES": "max_pending_bytes",
}
"""Environment variable → setting."""

FORMER_NAMES: dict[str, str] = {"WORKER_COUNT": "ROCKETS_WORKER_COUNT"}
"""A variable still read under its former name → its name now. Given both, they must agree."""
_FORMERLY = {new: old for old, new in FORMER_NAMES.items()}

NOT_SETTINGS = ("ROCKETS_TEST_", "ROCKETS_PER_THREAD")
"""Names, or beginnings of names, of ``ROCKETS_*`` variables that rockets' own tools read and
that are no setting: the test kit's (``ROCKETS_TEST_POSTGRES_URL``), the benchmarks' load
script's. :func:`unknown_variables` says nothing of them."""


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """A sentence for every ``ROCKETS_*`` variable of the environment (``os.environ`` by default)
    that is no setting, naming the setting it most likely meant: a misspelt variable would
    otherwise be ignored without a word."""
    environ = os.environ if environ is None else environ
    # Compared without the prefix, which every name shares (else it alone would look close).
    # A former name is suggested as the name it has now.
    known = {var.removeprefix("ROCKETS_"): var for var in ENVIRONMENT}
    known |= {old.removeprefix("ROCKETS_"): new for old, new in FORMER_NAMES.items()}
    sentences = []
    for name in sorted(environ):
        if not name.startswith("ROCKETS_") or name in ENVIRONMENT or name.startswith(NOT_SETTINGS):
            continue
        meant = difflib.get_close_matches(name.removeprefix("ROCKETS_"), known, n=1)
        hint = f"did you mean {known[meant[0]]}?" if meant else "the settings are in README.md"
        sentences.append(f"{name} is not a setting of rockets and is ignored: {hint}")
    return sentences
