"""The memory store's packed event logs: what goes in comes out exactly, in little room."""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from rockets.records import Record
from rockets.stores.packed import COMPRESS_FROM, PackedLog, TypeTable

moments = st.datetimes(
    min_value=datetime(1900, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-9, minutes=-30))]
    ),
)


@given(
    events=st.lists(
        st.tuples(
            st.sampled_from(["RocketLaunched", "RocketSpeedIncreased", "Other"]),
            moments,
            moments,
            st.binary(max_size=200),
            st.integers(1, 5),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_every_event_reads_back_as_it_was_written(events: list[tuple[Any, ...]]) -> None:
    log = PackedLog("c", TypeTable())
    written = [
        Record("c", number, kind, at, received, payload, version=version)
        for number, (kind, at, received, payload, version) in enumerate(events, start=1)
    ]
    for record in written:
        log.append(record)
    assert len(log) == len(written)
    assert log.slice(1, len(log)) == written
    for record in written:
        read = log.get(record.message_number)
        assert read == record
        # Equal is not enough for a time: its clock's offset shows in the API.
        assert read.message_time.utcoffset() == record.message_time.utcoffset()
    assert log.slice(2, 10**6) == written[1:]
    assert log.slice(0, 0) == []


def test_an_event_takes_a_few_dozen_bytes_besides_its_payload() -> None:
    types = TypeTable()
    log = PackedLog("c", types)
    at = datetime(2022, 2, 2, 19, 39, 5, 863370, tzinfo=timezone(timedelta(hours=1)))
    payload = b'{"by":300}'
    for number in range(1, 1001):
        log.append(Record("c", number, "RocketSpeedIncreased", at, at, payload))
    per_event = (len(log._data) + log._ends.itemsize * len(log)) / len(log)
    assert per_event < 40 + len(payload)  # a Record object alone takes over 100
    assert types.names == ["RocketSpeedIncreased"]  # the type is kept once


def _text(size: int) -> bytes:
    """A JSON payload of ``size`` bytes of text, as a plugin's free-text field holds it."""
    words = [f"word{n % 37} {n * 7919 % 1000}" for n in range(size // 8)]
    return b'{"site":"' + " ".join(words).encode()[: size - 11] + b'"}'


def test_a_large_text_payload_is_kept_compressed_and_reads_back_exactly() -> None:
    log = PackedLog("c", TypeTable())
    at = datetime(2022, 2, 2, tzinfo=UTC)
    payload = _text(60_000)
    record = Record("c", 1, "RocketLanded", at, at, payload)
    log.append(record)
    assert log.nbytes < len(payload) // 3
    assert log.get(1) == record


def test_a_payload_that_does_not_compress_or_is_small_is_kept_as_it_is() -> None:
    log = PackedLog("c", TypeTable())
    at = datetime(2022, 2, 2, tzinfo=UTC)
    noise = random.Random(7).randbytes(60_000)
    # Base64 text compresses by a quarter at best: its first KiB tells it, and it is kept whole.
    encoded = b'{"blob":"' + base64.b64encode(noise)[:60_000] + b'"}'
    small = _text(COMPRESS_FROM - 1)
    payloads = [small, encoded, small, _text(60_000), b"{}"]
    written = [
        Record("c", number, "X", at, at, payload)
        for number, payload in enumerate(payloads, start=1)
    ]
    for record in written:
        log.append(record)
    assert log.slice(1, 5) == written  # those kept apart and the others, in their order
    assert log.nbytes > len(encoded) + 2 * len(small)
