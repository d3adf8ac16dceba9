"""The memory store's packed event logs: what goes in comes out exactly, in little room."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from rockets.records import Record
from rockets.stores.packed import PackedLog, TypeTable

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
