"""The asyncio worker pool: a fixed set of workers, each draining its own queue in groups.

Work is routed by key (the channel), so all items of one key go to the same worker, in order.
That is what lets the sequencer run without locks. A worker takes everything queued for it (up
to ``max_group`` items) and hands it to the handler at once, so a durable store can commit the
whole group in one transaction.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Generic, TypeVar

from rockets.errors import PoolClosedError, PoolFullError

__all__ = ["WorkerPool"]

T = TypeVar("T")
R = TypeVar("R")


_STOP = object()


class WorkerPool(Generic[T, R]):
    """``size`` asyncio workers that call ``handler`` with groups of items.

    Args:
        size: number of workers.
        handler: called with a list of items, returns one result per item, in order; a result
            that is an exception fails that item alone. If the handler raises, every item of
            the group fails with that exception.
        max_group: the most items one handler call gets.
        max_queue: the most items waiting for one worker; beyond, ``submit`` refuses.
    """

    def __init__(
        self,
        size: int,
        handler: Callable[[list[T]], Awaitable[Sequence[R | Exception]]],
        *,
        max_group: int = 256,
        max_queue: int | None = None,
    ) -> None:
        if size < 1:
            raise ValueError("a worker pool needs at least one worker")
        self.size = size
        self.max_queue = max_queue
        self._handler = handler
        self._max_group = max_group
        # A deque per worker, and the future an idle worker waits on: lighter than
        # asyncio.Queue, which the hot path would pay for on every request.
        self._queues: list[deque[object]] = []
        self._waiters: list[asyncio.Future[None] | None] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = True

    def index(self, key: str) -> int:
        """The worker that owns ``key``. Stable for the life of the process."""
        return hash(key) % self.size

    @property
    def queued(self) -> int:
        """Items waiting in all queues."""
        return sum(len(queue) for queue in self._queues)

    def depths(self) -> list[int]:
        """Items waiting for each worker."""
        return [len(queue) for queue in self._queues] or [0] * self.size

    def has_room(self, indexes: Iterable[int]) -> bool:
        """Whether each of these workers can take one more item now."""
        if self.max_queue is None:
            return True
        return all(len(self._queues[i]) < self.max_queue for i in indexes)

    def start(self) -> None:
        """Start the workers (inside a running event loop)."""
        self._queues = [deque() for _ in range(self.size)]
        self._waiters = [None] * self.size
        self._tasks = [
            asyncio.create_task(self._work(i), name=f"rockets-worker-{i}") for i in range(self.size)
        ]
        self._closed = False

    def _put(self, index: int, entry: object) -> None:
        self._queues[index].append(entry)
        waiter = self._waiters[index]
        if waiter is not None and not waiter.done():
            waiter.set_result(None)  # the worker was idle

    def submit(self, index: int, item: T) -> asyncio.Future[R]:
        """Queue ``item`` for worker ``index``; the future resolves to its result.

        Raises:
            PoolClosedError: the pool is not running.
            PoolFullError: the worker's queue is at its bound.
        """
        if self._closed:
            raise PoolClosedError("the service is shutting down")
        if self.max_queue is not None and len(self._queues[index]) >= self.max_queue:
            raise PoolFullError("the service is over capacity: retry later")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._put(index, (item, future))
        return future

    async def close(self) -> None:
        """Stop taking work, finish everything already queued, then stop the workers."""
        if self._closed:
            return
        self._closed = True
        for index in range(self.size):
            self._put(index, _STOP)
        await asyncio.gather(*self._tasks)

    async def _work(self, index: int) -> None:
        queue = self._queues[index]
        loop = asyncio.get_running_loop()
        while True:
            if not queue:
                waiter = self._waiters[index] = loop.create_future()
                await waiter
                self._waiters[index] = None
                continue
            group: list[object] = []
            stop = False
            while queue and len(group) < self._max_group:
                entry = queue.popleft()
                if entry is _STOP:
                    stop = True
                    break
                group.append(entry)
            if group:
                await self._run(group)  # type: ignore[arg-type]
            if stop:
                return
            # A handler whose store never suspends must still let the HTTP side run.
            await asyncio.sleep(0)

    async def _run(self, group: list[tuple[T, asyncio.Future[R]]]) -> None:
        items = [item for item, _ in group]
        try:
            results = await self._handler(items)
            if len(results) != len(group):
                raise RuntimeError(f"handler answered {len(results)} of {len(group)} items")
        except BaseException as exc:
            # Whatever happens, no requester is left waiting; only cancellation ends the worker.
            failure = exc if isinstance(exc, Exception) else PoolClosedError("worker stopped")
            for _, future in group:
                if not future.done():
                    future.set_exception(failure)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), result in zip(group, results, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
