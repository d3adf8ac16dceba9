from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rockets.app import load_plugins
from rockets.core.codec import Codec, parse_message_time
from rockets.core.registry import Registry
from rockets.errors import InputError
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


GOOD = (
    b'{"metadata": {"messageType": "RocketExploded", "channel": "c"}, "message": {"reason": "r"}}'
)


@pytest.mark.parametrize(
    ("raw", "path", "key"),
    [
        (
            GOOD[:-1] + b', "metadata": {"messageType": "RocketExploded", "channel": "d"}}',
            "$.metadata",
            "metadata",
        ),
        (
            GOOD.replace(b'"channel": "c"', b'"channel": "c", "channel": "d"'),
            "$.metadata.channel",
            "channel",
        ),
        (
            GOOD.replace(b'"channel": "c"', b'"channel": "c", "\\u0063hannel": "d"'),
            "$.metadata.channel",
            "channel",
        ),
        (
            GOOD.replace(b'"reason": "r"', b'"reason": "r", "reason" : "s"'),
            "$.message.reason",
            "reason",
        ),
        (
            GOOD.replace(b'"reason": "r"', b'"reason": "r", "x": [1, {"k": 1, "k\\"": 2, "k": 3}]'),
            "$.message.x[1].k",
            "k",
        ),
        (
            GOOD.replace(b'"channel": "c"', b'"channel": "c", "x": {"a b": 1, "a b": 2}'),
            '$.metadata.x["a b"]',
            "a b",
        ),
        (
            b"["
            + GOOD
            + b", "
            + GOOD.replace(b'"reason": "r"', b'"reason": "r", "reason": "r"')
            + b"]",
            "$[1].message.reason",
            "reason",
        ),
        (
            GOOD.replace(b'"reason": "r"', b'"reason": "r", "x": [{}, "a", []], "x": 1'),
            "$.message.x",
            "x",
        ),
        (
            b'{"metadata" : {"messageType": "RocketExploded"}, "message": {"reason": "r"}, "message" :\n{"reason": "s"}}',
            "$.message",
            "message",
        ),
    ],
    ids=[
        "metadata twice",
        "channel twice",
        "escaped alike",
        "space before a colon",
        "in an array",
        "unknown field",
        "in a batch",
        "after an empty object in an array",
        "spaces and newlines",
    ],
)
def test_a_key_twice_in_one_object_is_malformed(
    codec: Codec, raw: bytes, path: str, key: str
) -> None:
    error = error_of(codec, raw)
    assert error["error"] == "malformed_json"
    assert error["path"] == path
    assert error["detail"] == f"the key {key!r} appears twice in one object"


@pytest.mark.parametrize(
    "raw",
    [
        GOOD,
        GOOD.replace(b'"reason": "r"', b'"reason": "r\\": \\"reason\\": x"'),
        GOOD.replace(b'"reason": "r"', b'"reason": "\\\\", "x": {"reason": 1, "y": {"reason": 2}}'),
        GOOD.replace(
            b'"channel": "c"', b'"channel": "c", "messageTime": "2022-02-02T19:39:05+01:00"'
        ),
        GOOD.replace(b'"channel": "c"', b'"channel" : null, "messageNumber": 0'),
        b"[" + GOOD + b"," + GOOD + b"]",
    ],
    ids=[
        "plain",
        "quotes and colons in a string",
        "same key in other objects",
        "colons in a time",
        "null and zero",
        "a batch",
    ],
)
def test_keys_that_do_not_repeat_are_fine(codec: Codec, raw: bytes) -> None:
    assert codec.decode(raw, NOW).records


def test_counting_keys_reads_any_json_and_refuses_what_is_not(codec: Codec) -> None:
    # Unknown fields send the body to the exact count, which decodes all of it.
    huge = GOOD.replace(
        b'"reason": "r"', b'"reason": "r", "x": 1e400, "y": 123456789012345678901234567890'
    )
    assert codec.decode(huge, NOW).records
    error = error_of(codec, GOOD.replace(b'"reason": "r"', b'"reason": "r", "x": "\xff"'))
    assert (error["error"], error["path"]) == ("malformed_json", "$")
    assert "not valid UTF-8" in str(error["detail"])


class Pairs(list[tuple[str, Any]]):
    """A JSON object that may hold a key twice."""


# JSON objects as lists of (key, value), keys from a small alphabet so that they repeat often,
# written with any spacing and with escapes that spell the same key differently.
keys = st.sampled_from(["a", "b", '"', "a:"])
scalars = st.one_of(st.integers(-5, 5), st.sampled_from(["a", 'x":', "\\"]), st.none())
trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.lists(st.tuples(keys, children), max_size=4).map(Pairs),
    ),
    max_leaves=12,
)


def repeats(tree: Any) -> bool:
    if isinstance(tree, Pairs):
        names = [key for key, _ in tree]
        return len(set(names)) < len(names) or any(repeats(value) for _, value in tree)
    if isinstance(tree, list):
        return any(repeats(item) for item in tree)
    return False


def write(tree: Any, draw: Any) -> str:
    space = lambda: draw(st.sampled_from(["", " ", "\n "]))  # noqa: E731
    if isinstance(tree, Pairs):
        members = []
        for key, value in tree:
            name = msgspec.json.encode(key).decode()
            if draw(st.booleans()) and key == "a":
                name = '"\\u0061"'
            members.append(f"{space()}{name}{space()}:{space()}{write(value, draw)}")
        return "{" + ",".join(members) + "}"
    if isinstance(tree, list):
        return "[" + ",".join(write(item, draw) for item in tree) + "]"
    return msgspec.json.encode(tree).decode()


@given(data=st.data(), tree=trees, where=st.sampled_from(["metadata", "message"]))
@settings(max_examples=300, deadline=None)
def test_a_repeated_key_is_found_wherever_it_is(
    registry: Registry, data: st.DataObject, tree: Any, where: str
) -> None:
    codec = Codec(registry, max_batch=3, max_payload_bytes=Settings().max_payload_bytes)
    extra = write(tree, data.draw)
    meta = '"messageType": "RocketExploded"' + (f', "x": {extra}' if where == "metadata" else "")
    payload = '"reason": "r"' + (f', "x": {extra}' if where == "message" else "")
    raw = f'{{"metadata": {{{meta}}}, "message": {{{payload}}}}}'.encode()
    if repeats(tree):
        error = error_of(codec, raw)
        assert error["error"] == "malformed_json"
        assert str(error["path"]).startswith(f"$.{where}.x")
    else:
        assert codec.decode(raw, NOW).records
