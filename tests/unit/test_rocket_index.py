"""The rocket index's listing: its cached channel order must give exactly what sorting gives."""

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from rockets.app import load_plugins
from rockets.core.rocket_index import RocketIndex, select
from rockets.settings import Settings
from rockets.state import RocketState
from rockets.wire import RocketQuery

SCHEMA = load_plugins(Settings()).registry().state

updates = st.lists(
    st.tuples(
        st.sampled_from([f"r{n:02d}" for n in range(12)] + ["a", "Z", "r1", "é"]),
        st.sampled_from(["flying", "exploded"]),
        st.integers(0, 3),
    ),
    max_size=40,
)
queries = st.builds(
    RocketQuery,
    order=st.sampled_from(["asc", "desc"]),
    status=st.none() | st.sampled_from(["flying", "exploded"]),
    limit=st.none() | st.integers(1, 5),
    offset=st.integers(0, 4),
)


def state(channel: str, status: str, speed: int) -> RocketState:
    return msgspec.structs.replace(SCHEMA.initial(channel), status=status, speed=speed)


@settings(max_examples=200)
@given(st.lists(updates, min_size=1, max_size=4), queries)
def test_listing_by_channel_matches_a_full_sort(
    rounds: list[list[tuple[str, str, int]]], query: RocketQuery
) -> None:
    index = RocketIndex()
    latest: dict[str, RocketState] = {}
    for round_ in rounds:
        states = [state(*update) for update in round_]
        index.put(states)
        latest.update((s.channel, s) for s in states)
        # Reading between rounds caches the order; the next round's new channels must drop it.
        assert index.query(query, SCHEMA) == select(latest.values(), query, SCHEMA)
    total, page = index.query(query, SCHEMA)
    expected = sorted(latest.values(), key=lambda s: s.channel, reverse=query.order == "desc")
    if query.status is not None:
        expected = [s for s in expected if s.status == query.status]
    end = None if query.limit is None else query.offset + query.limit
    assert (total, page) == (len(expected), expected[query.offset : end])
