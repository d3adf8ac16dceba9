from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from rockets.core.sequencer import Sequencer, Verdict
from rockets.core.wait_order import WaitOrder
from rockets.records import Record

T = datetime(2026, 1, 1, tzinfo=UTC)


def rec(number: int, channel: str = "c", payload: bytes = b"{}", kind: str = "T") -> Record:
    return Record(channel, number, kind, T, T, payload)


def numbers(records: tuple[Record, ...]) -> list[int]:
    return [r.message_number for r in records]


def test_in_order_messages_are_ready_at_once() -> None:
    seq = Sequencer(10, 100)
    for n in (1, 2, 3):
        offer = seq.offer(rec(n))
        assert offer.verdict is Verdict.ACCEPTED
        assert numbers(offer.ready) == [n]
    assert seq.applied("c") == 3


def test_gap_buffers_then_releases_contiguous_run() -> None:
    seq = Sequencer(10, 100)
    assert seq.offer(rec(3)).ready == ()
    assert seq.offer(rec(5)).ready == ()
    assert seq.pending_count("c") == 2
    assert seq.total_pending == 2
    assert numbers(seq.offer(rec(1)).ready) == [1]
    assert numbers(seq.offer(rec(2)).ready) == [2, 3]
    assert seq.pending_count("c") == 1
    assert numbers(seq.offer(rec(4)).ready) == [4, 5]
    assert seq.pending_count("c") == 0
    assert seq.total_pending == 0


def test_duplicates_and_conflicts_in_the_buffer() -> None:
    seq = Sequencer(10, 100)
    seq.offer(rec(2, payload=b'{"by":1}'))
    same = seq.offer(rec(2, payload=b'{"by":1}'))
    other = seq.offer(rec(2, payload=b'{"by":2}'))
    other_type = seq.offer(rec(2, payload=b'{"by":1}', kind="U"))
    assert same.verdict is Verdict.DUPLICATE
    assert other.verdict is Verdict.CONFLICT
    assert other_type.verdict is Verdict.CONFLICT
    assert other.existing is not None
    assert other.existing.payload == b'{"by":1}'
    assert seq.pending_count("c") == 1


def test_applied_numbers_are_left_to_the_store_to_classify() -> None:
    seq = Sequencer(10, 100)
    seq.offer(rec(1))
    assert seq.offer(rec(1)).verdict is Verdict.APPLIED_BEFORE


def test_next_number_follows_the_highest_seen() -> None:
    seq = Sequencer(10, 100)
    assert seq.next_number("c") == 1
    seq.offer(rec(1))
    seq.offer(rec(4))
    assert seq.next_number("c") == 5
    assert seq.next_number("other") == 1


def test_bounds_refuse_without_dropping_anything() -> None:
    seq = Sequencer(max_pending_per_channel=2, max_pending_total=3)
    seq.offer(rec(3, "a"))
    seq.offer(rec(4, "a"))
    assert seq.offer(rec(5, "a")).verdict is Verdict.CHANNEL_FULL
    seq.offer(rec(3, "b"))
    assert seq.offer(rec(4, "b")).verdict is Verdict.ALL_FULL
    assert seq.offer(rec(9, "new")).verdict is Verdict.ALL_FULL
    assert "new" not in seq.channels  # a refusal creates no channel
    # The message that fills the gap is always taken, and frees room.
    assert numbers(seq.offer(rec(1, "a")).ready) == [1]
    assert numbers(seq.offer(rec(2, "a")).ready) == [2, 3, 4]
    assert seq.total_pending == 1
    assert seq.offer(rec(4, "b")).verdict is Verdict.ACCEPTED


def test_checkpoint_restore_undoes_everything() -> None:
    seq = Sequencer(10, 100)
    seq.offer(rec(1))
    seq.offer(rec(3))
    before = seq.checkpoint("c")
    fresh = seq.checkpoint("new")
    seq.offer(rec(2))
    seq.offer(rec(6))
    seq.offer(rec(2, "new"))
    seq.restore(before)
    seq.restore(fresh)
    assert seq.applied("c") == 1
    assert seq.pending_count("c") == 1
    assert seq.next_number("c") == 4
    assert "new" not in seq.channels
    assert seq.total_pending == 1


@pytest.mark.parametrize("order", [[1, 2, 3, 4], [4, 3, 2, 1], [2, 4, 1, 3], [3, 1, 4, 2]])
def test_every_order_applies_each_message_once_in_order(order: list[int]) -> None:
    seq = Sequencer(10, 100)
    applied: list[int] = []
    for n in order + order:
        applied += numbers(seq.offer(rec(n)).ready)
    assert applied == [1, 2, 3, 4]


def test_a_run_held_back_waits_at_its_head_until_released() -> None:
    seq = Sequencer(2, 100)
    seq.offer(rec(3))
    seq.offer(rec(4))
    ready = seq.offer(rec(1)).ready + seq.offer(rec(2)).ready
    assert numbers(ready) == [1, 2, 3, 4]
    assert not seq.held("c")
    seq.hold_back(ready[1:])  # #2 could not be applied: it and its successors wait
    assert seq.held("c")
    assert seq.position("c") == (1, 4, 3)
    assert seq.total_pending == 3
    assert seq.backlog("c")[0] == 3
    # The held message is waiting: a resend is a duplicate, another payload a conflict.
    assert seq.offer(rec(2)).verdict is Verdict.DUPLICATE
    assert seq.offer(rec(2, payload=b"[]")).verdict is Verdict.CONFLICT
    # Nothing fills it: a new message waits behind it, and a held run is no bound's business.
    assert seq.offer(rec(6)).verdict is Verdict.CHANNEL_FULL
    assert seq.offer(rec(5)).verdict is Verdict.CHANNEL_FULL
    assert numbers(seq.release("c")) == [2, 3, 4]
    assert (seq.applied("c"), seq.total_pending, seq.held("c")) == (4, 0, False)
    assert seq.release("c") == ()
    assert seq.release("unknown") == ()


def test_hold_back_takes_only_the_end_of_the_applied_run() -> None:
    seq = Sequencer(10, 100)
    ready = seq.offer(rec(1)).ready + seq.offer(rec(2)).ready
    with pytest.raises(ValueError, match="not the end"):
        seq.hold_back(ready[:1])
    assert seq.applied("c") == 2


def test_checkpoint_restore_undoes_a_hold_back() -> None:
    seq = Sequencer(10, 100)
    seq.offer(rec(2))
    before = seq.checkpoint("c")
    seq.hold_back(seq.offer(rec(1)).ready)
    assert (seq.held("c"), seq.pending_count("c")) == (True, 2)
    seq.restore(before)
    assert (seq.applied("c"), seq.pending_count("c"), seq.total_pending) == (0, 1, 1)
    assert not seq.held("c")


class Clock:
    """A clock that moves only when told to, standing for the monotonic one."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def received(seconds_ago: float, number: int, channel: str = "c") -> Record:
    """A record received ``seconds_ago`` by the wall clock (in the future when negative)."""
    at = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    return msgspec.structs.replace(rec(number, channel), received_at=at)


def test_each_channel_waits_in_order_of_its_oldest_waiting_message() -> None:
    clock = Clock(1.0)
    seq = Sequencer(10, 100, clock=clock)
    seq.offer(rec(3, "a"))  # a waits since 1
    clock.now = 2.0
    seq.offer(rec(5, "a"))
    seq.offer(rec(2, "b"))  # b waits since 2, as #5 of a
    clock.now = 3.0
    seq.offer(rec(4, "b"))
    assert list(seq.order) == [(1.0, "a"), (2.0, "b")]
    # a's oldest waiting message joins the log: a now waits since #5 began to (2), after b.
    seq.offer(rec(1, "a"))
    seq.offer(rec(2, "a"))
    assert list(seq.order) == [(2.0, "a"), (2.0, "b")]
    assert seq.order.count_until(1.5) == 0
    assert seq.order.count_until(2.0) == 2
    # b's gap closes whole, a's too: nothing waits, nothing is left in the order.
    seq.offer(rec(1, "b"))
    seq.offer(rec(3, "b"))
    seq.offer(rec(4, "a"))
    assert (list(seq.order), seq.total_pending, seq.total_bytes) == ([], 0, 0)


def test_the_payload_bytes_waiting_are_bounded_over_all_channels() -> None:
    seq = Sequencer(10, 100, max_pending_bytes=10)
    assert seq.offer(rec(2, "a", payload=b"123456")).verdict is Verdict.ACCEPTED
    assert seq.offer(rec(3, "a", payload=b"12345")).verdict is Verdict.BYTES_FULL
    assert seq.offer(rec(2, "new", payload=b"12345")).verdict is Verdict.BYTES_FULL
    assert "new" not in seq.channels  # a refusal creates no channel
    assert seq.offer(rec(3, "a", payload=b"1234")).verdict is Verdict.ACCEPTED  # up to 10
    assert (seq.total_bytes, seq.total_pending) == (10, 2)
    # The message that fills a gap is never refused, and frees what it releases.
    assert numbers(seq.offer(rec(1, "a", payload=b"x" * 50)).ready) == [1, 2, 3]
    assert seq.total_bytes == 0
    assert seq.offer(rec(9, "b", payload=b"1234567890")).verdict is Verdict.ACCEPTED
    # What a store kept was acknowledged: read back, it is taken over any bound.
    assert seq.recover(rec(9, "c", payload=b"too much")) == ()
    assert seq.total_bytes == 18


def test_checkpoint_restore_puts_back_the_bytes_and_the_order() -> None:
    clock = Clock(1.0)
    seq = Sequencer(10, 100, clock=clock)
    seq.offer(rec(3, payload=b"abc"))
    before, fresh = seq.checkpoint("c"), seq.checkpoint("new")
    clock.now = 2.0
    seq.offer(rec(5, payload=b"defgh"))
    seq.offer(rec(2, "new", payload=b"ij"))
    seq.offer(rec(1))
    seq.offer(rec(2))  # #3 joins the log: c waits since #5 began (2)
    assert list(seq.order) == [(2.0, "c"), (2.0, "new")]
    seq.restore(before)
    seq.restore(fresh)
    assert list(seq.order) == [(1.0, "c")]
    assert (seq.total_pending, seq.total_bytes) == (1, 3)


def test_a_held_run_waits_since_it_was_received_and_is_listed_as_held() -> None:
    clock = Clock(1000.0)
    seq = Sequencer(10, 100, clock=clock)
    ready = seq.offer(received(30, 1)).ready
    seq.hold_back(ready)
    ((since, channel),) = list(seq.order)
    assert channel == "c"
    assert 1000.0 - 31 < since <= 1000.0 - 30  # as long ago as it was received
    assert seq.held_channels == {"c"}
    assert seq.total_bytes == 2
    seq.release("c")
    assert (seq.held_channels, list(seq.order), seq.total_bytes) == (set(), [], 0)


def test_messages_read_back_wait_since_they_were_received_never_after_now() -> None:
    clock = Clock(1000.0)
    seq = Sequencer(10, 100, clock=clock)
    seq.recover(received(30, 3, "old"))
    seq.recover(received(10, 5, "old"))
    # Received "in an hour": the wall clock was set back since. It waits since now, not later.
    seq.recover(received(-3600, 2, "ahead"))
    seq.load("loaded", 0, 4, [received(20, 4, "loaded"), received(-60, 3, "loaded")])
    order = list(seq.order)
    assert [channel for _, channel in order] == ["old", "loaded", "ahead"]
    assert 1000.0 - 31 < order[0][0] <= 1000.0 - 30
    assert 1000.0 - 21 < order[1][0] <= 1000.0 - 20
    assert order[2][0] == 1000.0
    # Partly filled: "old" waits since its #5 was received.
    seq.offer(rec(1, "old"))
    seq.offer(rec(2, "old"))
    seq.offer(rec(3, "old"))
    assert 1000.0 - 11 < {c: s for s, c in seq.order}["old"] <= 1000.0 - 10


@pytest.mark.parametrize("seed", range(5))
def test_the_order_and_the_totals_follow_every_change(seed: int) -> None:
    """Random offers, fills, holds, releases, checkpoints and restores: the order always holds
    each waiting channel under its oldest message's time, and the totals add up."""
    chance = random.Random(seed)
    clock = Clock(0.0)
    seq = Sequencer(6, 40, max_pending_bytes=150, clock=clock)
    began: dict[tuple[str, int], float] = {}  # when each waiting message began, as seen here
    channels = ["a", "b", "c", "d"]
    for _ in range(600):
        clock.now += chance.choice([0.0, 1.0])
        channel = chance.choice(channels)
        action = chance.random()
        if action < 0.75:
            number = seq.applied(channel) + chance.randint(1, 5)
            record = rec(number, channel, payload=b"x" * chance.randint(1, 20))
            offer = seq.offer(record)
            if offer.verdict is Verdict.ACCEPTED and not offer.ready:
                began[channel, number] = clock.now
            for done in offer.ready[1:]:
                del began[channel, done.message_number]
        elif action < 0.85 and seq.applied(channel) and not seq.held(channel):
            # The last applied message could not be applied after all: held back.
            last = seq.applied(channel)
            held = rec(last, channel)
            seq.hold_back([held])
            since = seq.channels[channel].since
            assert since is not None
            began[channel, last] = since[last]  # as long ago as it was received
        elif action < 0.92:
            for done in seq.release(channel):
                del began[channel, done.message_number]
        else:
            checkpoint = seq.checkpoint(channel)
            kept = {key: at for key, at in began.items() if key[0] == channel}
            seq.offer(rec(seq.applied(channel) + 1, channel))
            seq.offer(rec(seq.applied(channel) + 3, channel))
            seq.restore(checkpoint)
            began = {key: at for key, at in began.items() if key[0] != channel} | kept
        oldest: dict[str, float] = {}
        for (name, _), at in began.items():
            oldest[name] = min(at, oldest.get(name, at))
        assert list(seq.order) == sorted((at, name) for name, at in oldest.items())
        logs = seq.channels.values()
        assert seq.total_pending == sum(len(log.pending) for log in logs) == len(began)
        assert seq.total_bytes == sum(len(r.payload) for log in logs for r in log.pending.values())
        assert seq.total_bytes <= 150 or any(seq.held(name) for name in channels)
        assert seq.held_channels == {name for name in channels if seq.held(name)}


def test_the_wait_order_counts_and_pages_as_a_sorted_list_would() -> None:
    """Enough keys to split blocks and merge them back, checked against a sorted list."""
    chance = random.Random(7)
    order, model = WaitOrder(), []
    for step in range(12_000):
        if model and (step > 7000 or chance.random() < 0.3):
            key = model.pop(chance.randrange(len(model)))
            order.remove(key)
        else:
            key = (float(chance.randint(0, 500)), f"c{step}")
            order.add(key)
            model.append(key)
            model.sort()
        if step % 500 == 0 or len(model) < 3:
            assert list(order) == model
            assert len(order) == len(model)
            assert order.first() == (model[0] if model else None)
            moment = float(chance.randint(-1, 501))
            assert order.count_until(moment) == sum(1 for since, _ in model if since <= moment)
            start = chance.randint(0, len(model) + 5)
            assert order.slice(start, start + 37) == model[start : start + 37]
    for key in model:
        order.remove(key)
    assert (list(order), order.first(), order.count_until(1e9)) == ([], None, 0)
    with pytest.raises(KeyError):
        order.remove((1.0, "absent"))
