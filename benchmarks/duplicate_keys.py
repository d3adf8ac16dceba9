"""What refusing a repeated JSON key costs the codec, per message (docs/reliability.md).

    .venv/bin/python -m benchmarks.duplicate_keys

Decodes the same bodies with the check and with it switched off, best of 15 runs each: a
standard message (the cheap test decides), messages with unknown fields (the exact count runs),
then 1 MiB bodies whose repeated key comes last (the worst a client can ask for).
"""

from __future__ import annotations

import time
import timeit
from datetime import UTC, datetime
from typing import Any

import msgspec

from rockets.app import load_plugins
from rockets.core.codec import Codec
from rockets.errors import InputError
from rockets.settings import Settings

NOW = datetime.now(UTC)


class Unchecked(Codec):
    """The codec without the check, for the baseline."""

    def _refuse_repeated_keys(self, body: bytes, known: int) -> None:
        return None


def message(number: int, unknown: bool = False) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "channel": "193270a9-c9cf-404a-8f83-838e71d9ae67",
        "messageNumber": number,
        "messageTime": "2022-02-02T19:39:05.86337+01:00",
        "messageType": "RocketLaunched",
    }
    if unknown:
        metadata["sender"] = {"id": 7, "site": "KSC"}
    payload = {"type": "Falcon-9", "launchSpeed": 500, "mission": "ARTEMIS"}
    return {"metadata": metadata, "message": payload}


def per_message(codec: Codec, body: bytes) -> float:
    """Best µs per message of ``codec.decode(body)``."""
    count = len(codec.decode(body, NOW).records)
    number = max(2000 // count, 20)
    runs = timeit.repeat(lambda: codec.decode(body, NOW), number=number, repeat=15)
    return min(runs) / number / count * 1e6


def worst(codec: Codec, body: bytes) -> tuple[float, str]:
    """Best ms of ``codec.decode(body)`` and what became of the body."""
    best, outcome = float("inf"), "accepted"
    for _ in range(5):
        started = time.perf_counter()
        try:
            codec.decode(body, NOW)
        except InputError as exc:
            outcome = f"{exc.body.error} at {exc.body.path}"
        best = min(best, time.perf_counter() - started)
    return best * 1000, outcome


def main() -> None:
    registry = load_plugins(Settings(blocked_plugins=("fuel",))).registry()
    checked, unchecked = Codec(registry, 1000, 65536), Unchecked(registry, 1000, 65536)
    bodies = {
        "one message": msgspec.json.encode(message(1)),
        "a batch of 100": msgspec.json.encode([message(n) for n in range(1, 101)]),
        "one message with unknown fields": msgspec.json.encode(message(1, unknown=True)),
        "a batch of 100 with unknown fields": msgspec.json.encode(
            [message(n, unknown=True) for n in range(1, 101)]
        ),
    }
    for name, body in bodies.items():
        without, with_check = per_message(unchecked, body), per_message(checked, body)
        print(
            f"{name:36s} {without:5.2f} µs a message without the check, {with_check:5.2f} "
            f"with: +{with_check - without:.2f} µs"
        )
    keys = b",".join(b'"k%d":1' % i for i in range(90_000))
    one = (
        b'{"metadata":{"messageType":"RocketExploded","x":{'
        + keys
        + b'}},"message":{"reason":"r"}}'
    )
    extra = b",".join(b'"k%d":1' % i for i in range(90))
    small = (
        b'{"metadata":{"channel":"c","messageNumber":1,"messageType":"RocketExploded","x":{'
        + extra
        + b'}},"message":{"reason":"r"}}'
    )
    batch = b"[" + b",".join([small] * 1000) + b"]"
    last = small.replace(b'"k1":1', b'"k89":1')
    worst_cases = {
        "90,000 keys in one object": one,
        "... the last one repeated": one.replace(b'"k1":1', b'"k89999":1', 1),
        "1,000 messages of 90 unknown keys": batch,
        "... a key of the last one repeated": batch[: -len(small) - 1] + last + b"]",
    }
    for name, body in worst_cases.items():
        base, _ = worst(unchecked, body)
        took, outcome = worst(checked, body)
        print(
            f"{name:36s} {len(body) / 1024:4.0f} KiB: {base:5.1f} ms without the check, "
            f"{took:5.1f} ms with ({outcome})"
        )


if __name__ == "__main__":
    main()
