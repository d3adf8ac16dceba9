"""Configuration, read from the environment once when the app is built."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated

import msgspec

from rockets.errors import SettingsError

__all__ = ["ENVIRONMENT", "Settings"]

Positive = Annotated[int, msgspec.Meta(ge=1)]


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every setting, with its default. See the configuration table in README.md."""

    worker_count: Annotated[int, msgspec.Meta(ge=1, le=256)] = 3
    store: str = "memory://"
    plugins_dir: str | None = None
    blocked_plugins: tuple[str, ...] = ()
    max_body_bytes: Positive = 1024 * 1024
    max_batch: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 1000
    max_pending_per_channel: Positive = 1024
    max_pending_total: Positive = 100_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables (``os.environ`` by default).

        Raises:
            SettingsError: a variable is set to a value of the wrong type or out of range.
        """
        environ = os.environ if environ is None else environ
        given: dict[str, object] = {
            field: environ[var] for var, field in ENVIRONMENT.items() if environ.get(var)
        }
        if "blocked_plugins" in given:
            names = str(given["blocked_plugins"]).split(",")
            given["blocked_plugins"] = [name.strip() for name in names if name.strip()]
        try:
            return msgspec.convert(given, cls, strict=False)
        except msgspec.ValidationError as exc:
            var = next((v for v, f in ENVIRONMENT.items() if f"`$.{f}`" in str(exc)), None)
            raise SettingsError(f"invalid setting {var or ''}: {exc}") from None


ENVIRONMENT: dict[str, str] = {
    "WORKER_COUNT": "worker_count",
    "ROCKETS_STORE": "store",
    "ROCKETS_PLUGINS_DIR": "plugins_dir",
    "ROCKETS_BLOCKED_PLUGINS": "blocked_plugins",
    "ROCKETS_MAX_BODY_BYTES": "max_body_bytes",
    "ROCKETS_MAX_BATCH": "max_batch",
    "ROCKETS_MAX_PENDING_PER_CHANNEL": "max_pending_per_channel",
    "ROCKETS_MAX_PENDING_TOTAL": "max_pending_total",
}
"""Environment variable → setting."""
