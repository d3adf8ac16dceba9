"""One thread of its own where plugin code runs, off the event loop, a call at a time.

Projections and listeners are plugin code the service calls for every event; on the event loop
a slow one would hold every request. Each kind gets a thread instead, fed calls one at a time:
the loop awaits the answer (or not) and goes on serving meanwhile. The thread is a daemon: a
call that never returns cannot keep the process from exiting (a thread cannot be interrupted;
the service stops waiting for it at shutdown, after a bound).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["PluginThread"]

T = TypeVar("T")

_Job = tuple[Callable[..., Any], tuple[Any, ...], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # its waiter was cancelled: nobody wants the answer any more
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class PluginThread:
    """A daemon thread that runs the calls it is given in order, each to its awaiting caller.

    Args:
        name: the thread's name (as debuggers and ``py-spy`` show it).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the thread takes calls (started, not closed)."""
        return self._thread is not None

    def start(self) -> None:
        """Start the thread (again, after :meth:`close`)."""
        if self._thread is not None:
            return
        self._jobs = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._run, args=(self._jobs,), name=self.name, daemon=True
        )
        self._thread.start()

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)``, run in the thread once the calls given before it have run.

        Cancelling the wait does not stop the call: it runs, and its answer is dropped.
        """
        if self._thread is None:
            raise RuntimeError(f"the {self.name} thread is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((function, args, loop, future))
        return await future

    async def idle(self, timeout: float) -> bool:
        """Whether every call given so far has run within ``timeout`` seconds."""
        if self._thread is None:
            return True
        try:
            async with asyncio.timeout(timeout):
                await self.call(lambda: None)
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        """Let the thread end once the calls given so far have run (without waiting for it)."""
        if self._thread is None:
            return
        self._jobs.put(None)
        self._thread = None

    @staticmethod
    def _run(jobs: queue.SimpleQueue[_Job | None]) -> None:
        while (job := jobs.get()) is not None:
            function, args, loop, future = job
            result: Any = None
            error: BaseException | None = None
            try:
                result = function(*args)
            except Exception as exc:
                error = exc
            except BaseException as exc:
                # SystemExit or KeyboardInterrupt raised by plugin code must not unwind the
                # event loop that awaits the answer.
                error = RuntimeError(f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(_settle, future, result, error)
