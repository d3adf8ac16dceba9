"""The channels with messages waiting, in the order their oldest waiting message began to wait.

How many began at or before a moment is a bisection and a page is a slice, however many
channels wait: ``GET /stalled`` and ``/metrics`` read this order instead of every open gap.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator

__all__ = ["WaitKey", "WaitOrder"]

WaitKey = tuple[float, str]
"""``(since, channel)``: when the channel's oldest waiting message began to wait (on a clock
that does not step), then the channel, which orders the ties."""

_BLOCK = 1000
"""Keys a block holds about: it splits past twice this and is merged below a quarter."""


def _since(key: WaitKey) -> float:
    return key[0]


class WaitOrder:
    """Sorted :data:`WaitKey` keys, kept in blocks of at most ``2 * _BLOCK``.

    One sorted list would move half its keys on every change (50,000 pointers at 100,000
    waiting channels, on the ingest path); a block moves at most its own. Every block but a
    lone one holds at least ``_BLOCK // 4`` keys, so counting walks a few hundred block lengths
    at most.
    """

    __slots__ = ("_blocks", "_length", "_maxes")

    def __init__(self) -> None:
        self._blocks: list[list[WaitKey]] = []
        self._maxes: list[WaitKey] = []
        self._length = 0

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[WaitKey]:
        for block in self._blocks:
            yield from block

    def first(self) -> WaitKey | None:
        """The key that began to wait first (None: none waits)."""
        return self._blocks[0][0] if self._blocks else None

    def add(self, key: WaitKey) -> None:
        blocks, maxes = self._blocks, self._maxes
        self._length += 1
        if not blocks:
            blocks.append([key])
            maxes.append(key)
            return
        index = bisect_left(maxes, key)
        if index == len(maxes):
            # Past every key: the usual case, as a gap that opens now began last.
            index -= 1
            blocks[index].append(key)
            maxes[index] = key
        else:
            insort(blocks[index], key)
        if len(blocks[index]) > 2 * _BLOCK:
            self._split(index)

    def remove(self, key: WaitKey) -> None:
        """Take ``key`` out.

        Raises:
            KeyError: the order does not hold it.
        """
        blocks, maxes = self._blocks, self._maxes
        index = bisect_left(maxes, key)
        block = blocks[index] if index < len(blocks) else []
        at = bisect_left(block, key)
        if at == len(block) or block[at] != key:
            raise KeyError(key)
        del block[at]
        self._length -= 1
        if not block:
            del blocks[index], maxes[index]
            return
        maxes[index] = block[-1]
        if len(block) < _BLOCK // 4 and len(blocks) > 1:
            self._merge(index if index + 1 < len(blocks) else index - 1)

    def count_until(self, moment: float) -> int:
        """How many keys began to wait at or before ``moment``."""
        blocks = self._blocks
        whole = bisect_right(self._maxes, moment, key=_since)
        count = sum(len(block) for block in blocks[:whole])
        if whole < len(blocks):
            count += bisect_right(blocks[whole], moment, key=_since)
        return count

    def slice(self, start: int, stop: int) -> list[WaitKey]:
        """The keys from index ``start`` to ``stop`` (excluded), in order."""
        found: list[WaitKey] = []
        skipped = 0
        for block in self._blocks:
            if skipped + len(block) > start:
                found.extend(block[max(0, start - skipped) : stop - skipped])
                if skipped + len(block) >= stop:
                    break
            skipped += len(block)
        return found

    def _split(self, index: int) -> None:
        block = self._blocks[index]
        tail = block[_BLOCK:]
        del block[_BLOCK:]
        self._blocks.insert(index + 1, tail)
        self._maxes[index] = block[-1]
        self._maxes.insert(index + 1, tail[-1])

    def _merge(self, index: int) -> None:
        """Join blocks ``index`` and ``index + 1`` (split again if that makes one too long)."""
        merged = self._blocks[index] + self._blocks[index + 1]
        self._blocks[index : index + 2] = [merged]
        self._maxes[index : index + 2] = [merged[-1]]
        if len(merged) > 2 * _BLOCK:
            self._split(index)
