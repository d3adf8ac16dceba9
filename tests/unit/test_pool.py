from __future__ import annotations

import asyncio

import pytest

from rockets.errors import PoolClosedError
from rockets.runtime.pool import WorkerPool

from ..gated_store import HANG_GUARD, let_the_loop_run

pytestmark = pytest.mark.anyio


async def test_items_of_one_key_reach_one_worker_in_order() -> None:
    seen: dict[str, list[tuple[str, int]]] = {}

    async def handler(items: list[tuple[str, int]]) -> list[str]:
        task = asyncio.current_task()
        assert task is not None
        for item in items:
            seen.setdefault(item[0], []).append((task.get_name(), item[1]))
        await asyncio.sleep(0)  # lets the other workers interleave; decides nothing
        return [f"{k}{n}" for k, n in items]

    pool: WorkerPool[tuple[str, int], str] = WorkerPool(3, handler)
    pool.start()
    keys = [f"channel-{i}" for i in range(12)]
    futures = [pool.submit(pool.index(k), (k, n)) for n in range(20) for k in keys]
    results = await asyncio.gather(*futures)
    await pool.close()
    assert results == [f"{k}{n}" for n in range(20) for k in keys]
    for key in keys:
        workers = {worker for worker, _ in seen[key]}
        assert len(workers) == 1
        assert [n for _, n in seen[key]] == list(range(20))


async def test_queued_items_are_grouped() -> None:
    groups: list[int] = []

    async def handler(items: list[int]) -> list[int]:
        groups.append(len(items))
        return items

    pool: WorkerPool[int, int] = WorkerPool(1, handler, max_group=4)
    pool.start()
    futures = [pool.submit(0, i) for i in range(10)]
    assert await asyncio.gather(*futures) == list(range(10))
    await pool.close()
    assert groups == [4, 4, 2]


async def test_close_finishes_queued_work_then_refuses_more() -> None:
    done: list[int] = []
    gate = asyncio.Event()
    running: set[str] = set()
    both_running = asyncio.Event()

    async def handler(items: list[int]) -> list[None]:
        task = asyncio.current_task()
        assert task is not None
        running.add(task.get_name())
        if len(running) == 2:
            both_running.set()
        await gate.wait()  # the handler is busy until the test says otherwise
        done.extend(items)
        return [None] * len(items)

    pool: WorkerPool[int, None] = WorkerPool(2, handler, max_group=1)
    pool.start()
    futures = [pool.submit(i % 2, i) for i in range(50)]
    async with asyncio.timeout(HANG_GUARD):
        await both_running.wait()  # each worker holds its first item; 48 wait in the queues
    assert pool.queued == 48
    closing = asyncio.create_task(pool.close())
    await let_the_loop_run()
    assert not closing.done()  # it waits for the queued work, held by the busy handlers
    with pytest.raises(PoolClosedError):
        pool.submit(0, -1)  # and takes no more meanwhile
    gate.set()
    async with asyncio.timeout(HANG_GUARD):
        await closing
    # The moment close() returns, everything queued before it is done.
    assert sorted(done) == list(range(50))
    assert all(f.done() for f in futures)
    assert pool.queued == 0
    with pytest.raises(PoolClosedError):
        pool.submit(0, 99)


async def test_a_failing_group_fails_its_items_only() -> None:
    async def handler(items: list[int]) -> list[int]:
        if 13 in items:
            raise ValueError("unlucky")
        return items

    pool: WorkerPool[int, int] = WorkerPool(1, handler, max_group=1)
    pool.start()
    bad = pool.submit(0, 13)
    good = pool.submit(0, 7)
    with pytest.raises(ValueError, match="unlucky"):
        await bad
    assert await good == 7
    await pool.close()


def test_pool_needs_a_worker() -> None:
    async def handler(items: list[int]) -> list[int]:
        return items

    with pytest.raises(ValueError, match="at least one"):
        WorkerPool(0, handler)


async def test_a_handler_that_breaks_its_contract_fails_the_group_and_the_worker_lives_on() -> None:
    async def handler(items: list[int]) -> list[int]:
        return items[:-1] if 13 in items else items  # one answer short

    pool: WorkerPool[int, int] = WorkerPool(1, handler, max_group=1)
    pool.start()
    bad = pool.submit(0, 13)
    with pytest.raises(RuntimeError, match="answered 0 of 1"):
        await bad
    assert await pool.submit(0, 7) == 7
    await pool.close()


async def test_an_exception_result_fails_that_item_alone() -> None:
    async def handler(items: list[int]) -> list[int | Exception]:
        return [ValueError(i) if i % 2 else i for i in items]

    pool: WorkerPool[int, int] = WorkerPool(1, handler)
    pool.start()
    futures = [pool.submit(0, i) for i in range(4)]
    results = await asyncio.gather(*futures, return_exceptions=True)
    await pool.close()
    assert results[0] == 0
    assert results[2] == 2
    assert isinstance(results[1], ValueError)
    assert isinstance(results[3], ValueError)
