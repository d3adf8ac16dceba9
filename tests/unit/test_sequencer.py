from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rockets.core.sequencer import Sequencer, Verdict
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
