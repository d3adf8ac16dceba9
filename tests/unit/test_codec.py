from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest

from rockets.app import load_plugins
from rockets.codec import Codec, parse_message_time
from rockets.errors import InputError
from rockets.registry import Registry
from rockets.settings import Settings

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_plugins(Settings()).registry()


@pytest.fixture
def codec(registry: Registry) -> Codec:
    return Codec(registry, max_batch=3, max_payload_bytes=Settings().max_payload_bytes)


def body(metadata: dict[str, object], message: object) -> bytes:
    return msgspec.json.encode({"metadata": metadata, "message": message})


def error_of(codec: Codec, raw: bytes) -> dict[str, object]:
    with pytest.raises(InputError) as info:
        codec.decode(raw, NOW)
    result: dict[str, object] = msgspec.to_builtins(info.value.body)
    return result


def test_single_message_becomes_one_record(codec: Codec) -> None:
    raw = body(
        {
            "channel": "c1",
            "messageNumber": 7,
            "messageTime": "2022-02-02T19:39:05.86337+01:00",
            "messageType": "RocketLaunched",
        },
        {"type": "Falcon-9", "launchSpeed": 500, "mission": "ARTEMIS", "extra": True},
    )
    decoded = codec.decode(raw, NOW)
    assert not decoded.is_batch
    (record,) = decoded.records
    assert (record.channel, record.message_number, record.message_type) == (
        "c1",
        7,
        "RocketLaunched",
    )
    assert record.message_time == datetime(
        2022, 2, 2, 19, 39, 5, 863370, tzinfo=timezone(timedelta(hours=1))
    )
    assert record.received_at == NOW
    # Unknown fields are dropped and the payload re-encoded in schema order.
    assert record.payload == b'{"type":"Falcon-9","launchSpeed":500,"mission":"ARTEMIS"}'


def test_same_message_with_other_spacing_and_key_order_has_the_same_payload(codec: Codec) -> None:
    a = codec.decode(
        b'{"metadata":{"messageType":"RocketSpeedIncreased","channel":"c","messageNumber":2},'
        b'"message":{"by":5}}',
        NOW,
    ).records[0]
    b = codec.decode(
        b'{ "message" : { "by" : 5 , "note": 1 },\n "metadata" : {"messageNumber":2,'
        b'"channel":"c","messageType":"RocketSpeedIncreased"}}',
        NOW,
    ).records[0]
    assert a.same_message(b)


def test_metadata_defaults(codec: Codec) -> None:
    (record,) = codec.decode(body({"messageType": "RocketExploded"}, {"reason": "x"}), NOW).records
    assert uuid.UUID(record.channel)
    assert record.message_number == 0  # numbered later by the channel's worker
    assert record.message_time == NOW


@pytest.mark.parametrize("number", [0, -5, None])
def test_non_positive_or_null_number_is_left_for_the_worker(codec: Codec, number: object) -> None:
    meta = {"messageType": "RocketExploded", "channel": "", "messageNumber": number}
    (record,) = codec.decode(body(meta, {"reason": "x"}), NOW).records
    assert record.message_number == 0
    assert record.channel != ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-02-02T19:39:05.86337+01:00", datetime(2022, 2, 2, 18, 39, 5, 863370, tzinfo=UTC)),
        ("2022-02-02T19:39:05Z", datetime(2022, 2, 2, 19, 39, 5, tzinfo=UTC)),
        ("2022-02-02T19:39:05", datetime(2022, 2, 2, 19, 39, 5, tzinfo=UTC)),
        ("yesterday", NOW),
        ("", NOW),
        (None, NOW),
    ],
)
def test_message_time(text: str | None, expected: datetime) -> None:
    parsed = parse_message_time(text, NOW)
    assert parsed == expected
    assert parsed.tzinfo is not None


def test_batch_keeps_request_order(codec: Codec) -> None:
    raw = msgspec.json.encode(
        [
            {
                "metadata": {
                    "messageType": "RocketSpeedIncreased",
                    "channel": "a",
                    "messageNumber": 2,
                },
                "message": {"by": 1},
            },
            {
                "metadata": {
                    "messageType": "RocketSpeedDecreased",
                    "channel": "b",
                    "messageNumber": 1,
                },
                "message": {"by": 2},
            },
        ]
    )
    decoded = codec.decode(raw, NOW)
    assert decoded.is_batch
    assert [(r.channel, r.message_number) for r in decoded.records] == [("a", 2), ("b", 1)]


@pytest.mark.parametrize(
    ("raw", "path", "detail"),
    [
        (b'{"metadata": ', "$", "truncated"),
        (b"[]", "$", "length >= 1"),
        (b'{"metadata": {"messageType": "\xff"}, "message": {}}', "$", "not valid UTF-8"),
        (
            b'{"metadata": {"messageType": "RocketExploded"}, "message": {"reason": "\xc3"}}',
            "$.message",
            "not valid UTF-8",
        ),
        (b"42", "$", "Expected `object | array`"),
        (body({"messageType": "RocketSpeedIncreased"}, {"by": -1}), "$.message.by", ">= 0"),
        (body({"messageType": "RocketSpeedIncreased"}, {"by": "1"}), "$.message.by", "got `str`"),
        (body({"messageType": "RocketSpeedIncreased"}, {"by": 1.0}), "$.message.by", "got `float`"),
        (
            body({"messageType": "RocketSpeedIncreased"}, {}),
            "$.message",
            "missing required field `by`",
        ),
        (
            body(
                {"messageType": "RocketLaunched"}, {"type": "x", "launchSpeed": -3, "mission": "m"}
            ),
            "$.message.launchSpeed",
            ">= 0",
        ),
        (
            body({"messageType": "RocketMissionChanged"}, {"newMission": 5}),
            "$.message.newMission",
            "got `int`",
        ),
        (body({"messageType": 5}, {}), "$.metadata.messageType", "got `int`"),
        (
            body({"messageType": "RocketExploded", "messageNumber": "3"}, {"reason": "r"}),
            "$.metadata.messageNumber",
            "got `str`",
        ),
        (
            body({"messageType": "RocketExploded", "messageNumber": 2**53}, {"reason": "r"}),
            "$.metadata.messageNumber",
            "<= 9007199254740991",
        ),
        (
            body({"messageType": "RocketExploded", "channel": "a/b"}, {"reason": "r"}),
            "$.metadata.channel",
            "Expected printable text without '/'",
        ),
        (
            body({"messageType": "RocketExploded", "channel": "x" * 129}, {"reason": "r"}),
            "$.metadata.channel",
            "length <= 128",
        ),
        (
            b'{"metadata": {"messageType": "RocketExploded"}}',
            "$",
            "missing required field `message`",
        ),
        (
            b'[{"metadata": {"messageType": "RocketExploded"}, "message": {"reason": "r"}}, {"metadata": {"messageType": "RocketSpeedIncreased"}, "message": {"by": -2}}]',
            "$[1].message.by",
            ">= 0",
        ),
        (
            msgspec.json.encode(
                [{"metadata": {"messageType": "RocketExploded"}, "message": {"reason": "r"}}] * 4
            ),
            "$",
            "length <= 3",
        ),
    ],
)
def test_bad_input_names_the_path(codec: Codec, raw: bytes, path: str, detail: str) -> None:
    error = error_of(codec, raw)
    assert error["status"] == 400
    assert error["path"] == path
    assert detail in str(error["detail"])


def test_unknown_type_lists_the_known_ones(codec: Codec, registry: Registry) -> None:
    error = error_of(codec, body({"messageType": "RocketTeleported"}, {}))
    assert error["error"] == "unknown_message_type"
    assert error["path"] == "$.metadata.messageType"
    assert error["knownTypes"] == registry.names
    for name in registry.names:
        assert name in str(error["detail"])
