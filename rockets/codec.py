"""The one place request bodies are decoded: raw JSON bytes → validated :class:`Record` objects.

Decoders are built once per app from the registry. Decoding is strict (``"1"`` is not an
integer) and every failure becomes an :class:`InputError` naming the JSON path at fault.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from rockets.errors import InputError
from rockets.records import Record
from rockets.registry import Registry
from rockets.wire import Envelope, ErrorBody, plainly

__all__ = ["Codec", "Decoded", "parse_message_time"]


def _split(error: msgspec.ValidationError) -> tuple[str, str]:
    """msgspec says ``"Expected `int` >= 0 - at `$.by`"``: return the sentence and the path."""
    text = plainly(str(error))
    sentence, sep, path = text.rpartition(" - at `")
    if not sep:
        return text, "$"
    return sentence, path.rstrip("`")


def _invalid(detail: str, path: str) -> InputError:
    return InputError(ErrorBody(status=400, error="invalid_message", detail=detail, path=path))


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def _malformed(detail: str, path: str = "$") -> InputError:
    return InputError(ErrorBody(status=400, error="malformed_json", detail=detail, path=path))


def parse_message_time(value: str | None, received_at: datetime) -> datetime:
    """RFC 3339 text → aware datetime; missing or unparsable → ``received_at``; naive → UTC."""
    if value is None:
        return received_at
    try:
        parsed = msgspec.convert(value, datetime)
    except msgspec.ValidationError:
        return received_at
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class Decoded(msgspec.Struct, frozen=True):
    """A decoded request body: its records in request order, and whether it was a JSON array."""

    records: list[Record]
    is_batch: bool


class Codec:
    """Decodes message requests for one registry.

    Args:
        registry: the message types this app accepts.
        max_batch: the largest JSON array of messages one request may carry.
        max_payload_bytes: the largest ``message`` payload, once re-encoded.
    """

    def __init__(self, registry: Registry, max_batch: int, max_payload_bytes: int) -> None:
        self._registry = registry
        self._max_payload = max_payload_bytes
        batch: Any = Annotated[list[Envelope], msgspec.Meta(min_length=1, max_length=max_batch)]
        self._decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(Envelope | batch)
        self._encoder = msgspec.json.Encoder()

    def decode(self, body: bytes, received_at: datetime) -> Decoded:
        """Decode a ``POST /messages`` body: one envelope or a non-empty array of them.

        The whole body is validated before anything is returned, so a batch is accepted or
        refused as a whole.

        Raises:
            InputError: malformed JSON, a schema violation or an unknown messageType (400).
        """
        try:
            decoded = self._decoder.decode(body)
        except msgspec.ValidationError as exc:
            raise _invalid(*_split(exc)) from None
        except msgspec.DecodeError as exc:
            raise _malformed(f"{exc}") from None
        except RecursionError:
            raise _malformed("JSON is nested too deeply") from None
        except UnicodeDecodeError as exc:
            raise _malformed(
                f"the body is not valid UTF-8 ({exc.reason} at byte {exc.start})"
            ) from None
        if isinstance(decoded, Envelope):
            return Decoded([self._record(decoded, "$", received_at)], is_batch=False)
        return Decoded(
            [self._record(env, f"$[{i}]", received_at) for i, env in enumerate(decoded)],
            is_batch=True,
        )

    def _record(self, envelope: Envelope, where: str, received_at: datetime) -> Record:
        meta = envelope.metadata
        registered = self._registry.get(meta.message_type)
        if registered is None:
            raise InputError(
                ErrorBody(
                    status=400,
                    error="unknown_message_type",
                    detail=(
                        f"unknown messageType {meta.message_type!r}; known types: "
                        + ", ".join(self._registry.names)
                    ),
                    path=f"{where}.metadata.messageType",
                    known_types=self._registry.names,
                )
            )
        try:
            payload = registered.decoder.decode(envelope.message)
        except msgspec.ValidationError as exc:
            detail, path = _split(exc)
            raise _invalid(detail, f"{where}.message{path[1:]}") from None
        except RecursionError:
            raise _malformed("JSON is nested too deeply", f"{where}.message") from None
        except UnicodeDecodeError as exc:
            raise _malformed(f"not valid UTF-8 ({exc.reason})", f"{where}.message") from None
        encoded = self._encoder.encode(payload)
        if len(encoded) > self._max_payload:
            raise _invalid(
                f"the payload is {len(encoded)} bytes; at most {self._max_payload} are kept",
                f"{where}.message",
            )
        if b"\\u0000" in encoded and _holds_nul(msgspec.json.decode(encoded)):
            # Text columns of PostgreSQL cannot hold it; refused alike whatever the store.
            raise _invalid(
                "strings may not contain the NUL character (\\u0000)", f"{where}.message"
            )
        return Record(
            channel=meta.channel or str(uuid.uuid4()),
            # 0 stands for "not given": the channel's worker numbers it (see Engine).
            message_number=max(meta.message_number or 0, 0),
            message_type=registered.name,
            message_time=parse_message_time(meta.message_time, received_at),
            received_at=received_at,
            payload=encoded,
            message=payload,
        )

    def encode(self, value: object) -> bytes:
        """Encode any response Struct (or list of them) to JSON bytes."""
        return self._encoder.encode(value)
