"""A frozen PostgreSQL peer: of two ``rockets serve`` on one database, one stopped (SIGSTOP, as a
swapping or partitioned host would be) inside a group's transaction, holding its channel's row,
while the other serves that channel. The helpers of the system test
(tests/system/test_postgres_frozen_peer.py), and a probe that measures, from the repository root:

    ROCKETS_TEST_POSTGRES_URL=postgresql://… .venv/bin/python -m tests.system.pg_frozen_peer

It freezes one process inside a group, times each request the other answers on that channel
while the first stays stopped, resumes it, and counts the acknowledged messages that are
missing. Figures are printed, one per line. A measurement, not a test. ``--stop anywhere``
stops it wherever it holds the row, ``--stop held`` has a plain session hold it instead.
"""

from __future__ import annotations

import argparse
import itertools
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import psycopg
from psycopg import errors as pg_errors

from ..pg import fresh_database, postgres_server
from ..server import BIN, Server, free_port, running

CHANNEL = "shared"
"""The one channel both processes write."""
BATCH = 1000
"""Messages in each request of the frozen process's feed: enough work inside each group's
transaction that a stop lands there often."""
PATIENCE = 30.0
"""Seconds to wait for an answer that is not the one measured: only turns a hang into a failure."""
ATTEMPTS = 50
"""Stops tried before giving up on landing one inside a group."""
POLLS = 20_000
"""Looks at ``pg_stat_activity`` (a fraction of a millisecond each) before giving up waiting for
a session's state: only turns a hang into a failure."""
SETTLED = 50
"""Looks in a row that must find a stopped process's sessions alike before they are judged."""

_numbers = itertools.count(1)


def serve(port: int, database: str, name: str) -> list[str]:
    """``rockets serve`` whose sessions PostgreSQL lists under ``name``."""
    store = f"{database}?application_name={name}"
    return [str(BIN / "rockets"), "serve", "--port", str(port), "--store", store]


def launched() -> dict[str, Any]:
    return {
        "metadata": {"channel": CHANNEL, "messageNumber": 1, "messageType": "RocketLaunched"},
        "message": {"type": "Falcon-9", "launchSpeed": 500, "mission": "M"},
    }


def sped_up() -> dict[str, Any]:
    """A message numbered by the server (the next free number), told apart by its ``by``."""
    return {
        "metadata": {"channel": CHANNEL, "messageType": "RocketSpeedIncreased"},
        "message": {"by": next(_numbers)},
    }


class Acknowledged:
    """Every message acknowledged as accepted, by its number: the ``by`` it was sent with."""

    def __init__(self) -> None:
        self.kept: dict[int, int] = {}
        self._lock = threading.Lock()

    def add(self, sent: list[dict[str, Any]], answer: httpx.Response) -> None:
        if answer.status_code != 202:
            return
        acks = answer.json()
        acks = acks if isinstance(acks, list) else [acks]
        with self._lock:
            for message, ack in zip(sent, acks, strict=True):
                if ack["status"] == "accepted":
                    self.kept[ack["messageNumber"]] = message["message"]["by"]

    def lost(self, url: str) -> int:
        """How many acknowledged messages the store does not hold as they were sent."""
        stored: dict[int, int] = {}
        with httpx.Client(base_url=url, timeout=PATIENCE) as client:
            start = 1
            while True:
                page = client.get(f"/rockets/{CHANNEL}/events", params={"from": start})
                assert page.status_code == 200, page.text
                events = page.json()
                if not events:
                    break
                for event in events:
                    stored[event["messageNumber"]] = event["message"].get("by")
                start = events[-1]["messageNumber"] + 1
        return sum(1 for number, by in self.kept.items() if stored.get(number) != by)


class Feed:
    """Batches posted to one server, one after another, until :meth:`stop`: the process to
    freeze. ``answers`` holds every status code, in order."""

    def __init__(self, url: str, acknowledged: Acknowledged) -> None:
        self.answers: list[int] = []
        self._url = url
        self._acknowledged = acknowledged
        self._more = threading.Condition()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._failure: BaseException | None = None

    def _run(self) -> None:
        try:
            with httpx.Client(base_url=self._url, timeout=PATIENCE) as client:
                while not self._stopping.is_set():
                    batch = [sped_up() for _ in range(BATCH)]
                    answer = client.post("/messages", json=batch)
                    self._acknowledged.add(batch, answer)
                    with self._more:
                        self.answers.append(answer.status_code)
                        self._more.notify_all()
        except BaseException as exc:  # told by wait_for and stop
            self._failure = exc
            with self._more:
                self._more.notify_all()

    def wait_for(self, count: int) -> None:
        """Return once ``count`` answers came (bounded by :data:`PATIENCE`)."""
        with self._more:
            done = self._more.wait_for(
                lambda: len(self.answers) >= count or self._failure is not None, PATIENCE
            )
        if self._failure is not None:
            raise self._failure
        assert done, f"the feed got {len(self.answers)} answers, not {count}"

    def __enter__(self) -> Feed:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stopping.set()
        self._thread.join(PATIENCE)
        if self._failure is not None:
            raise self._failure


class Session(NamedTuple):
    state: str
    waits_for: str
    transaction: str | None
    """Its transaction's id, once it wrote."""

    def waits_for_its_process(self, anywhere: bool) -> bool:
        """Whether it wrote in a transaction and waits for its process to say more; unless
        ``anywhere``, only where PostgreSQL counts it idle in its transaction (after a Sync:
        while the engine works on a group), not active between two statements of a pipeline
        (where no timeout applies to it)."""
        if self.transaction is None or self.waits_for != "ClientRead":
            return False
        return anywhere or self.state == "idle in transaction"


def _sessions(admin: psycopg.Connection[Any], name: str) -> list[Session]:
    rows = admin.execute(
        "SELECT state, coalesce(wait_event, ''), backend_xid::text FROM pg_stat_activity "
        "WHERE application_name = %s AND datname = current_database() ORDER BY pid",
        (name,),
    ).fetchall()
    return [Session(str(state), str(event), xid) for state, event, xid in rows]


def _holds_the_channel(admin: psycopg.Connection[Any]) -> bool:
    """Whether some session holds the channel's row (asked without waiting for it)."""
    try:
        with admin.transaction():
            admin.execute(
                "SELECT 1 FROM rocket_channels WHERE channel = %s FOR UPDATE NOWAIT", (CHANNEL,)
            )
    except pg_errors.LockNotAvailable:
        return True
    return False


def _is_stopped(server: Server) -> bool:
    stat = Path(f"/proc/{server.process.pid}/stat").read_text()
    return stat.rpartition(")")[2].split()[0] == "T"


def _stopped_in_a_group(
    admin: psycopg.Connection[Any], server: Server, name: str, anywhere: bool
) -> bool:
    """Whether ``server``, just sent SIGSTOP, stopped inside a group, holding the channel's row.

    Looked at once it is stopped and its sessions have settled (:data:`SETTLED` looks alike
    in a row): what it sent just before it stopped has been read by PostgreSQL by then, and a
    statement still running has ended.
    """
    for _ in range(POLLS):
        if _is_stopped(server):
            break
    else:
        raise AssertionError(f"{name} did not stop in {POLLS} looks")
    seen: list[Session] = []
    alike = 0
    for _ in range(POLLS):
        sessions = _sessions(admin, name)
        alike = alike + 1 if sessions == seen else 0
        seen = sessions
        if alike == SETTLED:
            break
    else:
        return False
    if not any(session.waits_for_its_process(anywhere) for session in seen):
        return False
    return _holds_the_channel(admin)


@contextmanager
def frozen_in_a_group(
    server: Server, database: str, name: str, feed: Feed, *, anywhere: bool = False
) -> Iterator[int]:
    """Stop ``server`` (SIGSTOP) while it is inside a group's transaction on :data:`CHANNEL`
    (see :meth:`Session.waits_for_its_process`); yield the index in ``feed.answers`` of the
    request it was serving; resume it (SIGCONT) at the block's end.

    The stop is sent the moment one of its sessions is seen there, so it mostly lands there;
    one that lands elsewhere is undone and tried again (at most :data:`ATTEMPTS` times).
    """
    with psycopg.connect(database, autocommit=True) as admin:
        for _ in range(ATTEMPTS):
            for _ in range(POLLS):
                sessions = _sessions(admin, name)
                if any(session.waits_for_its_process(anywhere) for session in sessions):
                    break
            else:
                raise AssertionError(f"{name} was not seen inside a group in {POLLS} looks")
            server.send(signal.SIGSTOP)
            if _stopped_in_a_group(admin, server, name, anywhere):
                break
            server.send(signal.SIGCONT)
        else:
            raise AssertionError(f"no stop out of {ATTEMPTS} landed inside a group")
    try:
        # The feed posts one batch at a time: the one in the group is the next to be answered.
        yield len(feed.answers)
    finally:
        server.send(signal.SIGCONT)


class Answer(NamedTuple):
    seconds: float
    status: int
    retry_after: str | None


def answers_meanwhile(
    url: str, clients: int, each: int, timeout: float, acknowledged: Acknowledged
) -> list[Answer]:
    """``clients`` clients at once, each posting ``each`` messages to :data:`CHANNEL` one after
    another, with ``timeout`` (an answer later than that raises ``httpx.ReadTimeout``); every
    answer."""

    def client_posts() -> list[Answer]:
        seen = []
        with httpx.Client(base_url=url, timeout=timeout) as client:
            for _ in range(each):
                message = sped_up()
                began = time.monotonic()
                answer = client.post("/messages", json=message)
                took = time.monotonic() - began
                seen.append(Answer(took, answer.status_code, answer.headers.get("retry-after")))
                acknowledged.add([message], answer)
        return seen

    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(client_posts) for _ in range(clients)]
        return [seen for future in futures for seen in future.result()]


@contextmanager
def held_elsewhere(database: str) -> Iterator[None]:
    """The channel's row held, for the block, by a session none of rockets' timeouts applies
    to: a peer PostgreSQL cannot tell is stuck (one stopped between two statements of a
    pipeline looks busy, not idle)."""
    with psycopg.connect(database) as holder:
        holder.execute("SELECT 1 FROM rocket_channels WHERE channel = %s FOR UPDATE", (CHANNEL,))
        yield
        holder.rollback()


@contextmanager
def two_servers(database: str) -> Iterator[tuple[Server, Server]]:
    """``frozen`` and ``other``, serving ``database``; both have acknowledged the launch."""
    ports = free_port(), free_port()
    with (
        running(serve(ports[0], database, "frozen"), ports[0], quiet=True) as frozen,
        running(serve(ports[1], database, "other"), ports[1], quiet=True) as other,
    ):
        answer = httpx.post(f"{other.url}/messages", json=launched(), timeout=PATIENCE)
        assert answer.status_code == 202, answer.text
        yield frozen, other


def _shown(answers: list[Answer], show: Callable[[str], None]) -> None:
    for answer in answers:
        retry = f" (Retry-After: {answer.retry_after})" if answer.retry_after else ""
        show(f"  {answer.status}{retry} in {answer.seconds:.2f} s")
    show(f"slowest: {max(answer.seconds for answer in answers):.2f} s")


def probe(admin_url: str, clients: int, each: int, stop: str, show: Callable[[str], None]) -> None:
    with fresh_database(admin_url) as database, two_servers(database) as (frozen, other):
        acknowledged = Acknowledged()
        if stop == "held":
            with held_elsewhere(database):
                show(f"row held elsewhere; {clients} clients post {each} each")
                _shown(answers_meanwhile(other.url, clients, each, PATIENCE, acknowledged), show)
            show(f"acknowledged: {len(acknowledged.kept)}, lost: {acknowledged.lost(other.url)}")
            return
        with Feed(frozen.url, acknowledged) as feed:
            feed.wait_for(3)
            anywhere = stop == "anywhere"
            with frozen_in_a_group(frozen, database, "frozen", feed, anywhere=anywhere) as serving:
                show(f"frozen inside a group; {clients} clients post {each} each to the other")
                _shown(answers_meanwhile(other.url, clients, each, PATIENCE, acknowledged), show)
            feed.wait_for(serving + 2)
            show(f"the frozen process's request in the group, resumed: {feed.answers[serving]}")
            show(f"its next: {feed.answers[serving + 1]}")
        show(f"acknowledged: {len(acknowledged.kept)}, lost: {acknowledged.lost(other.url)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=3, help="clients posting at once")
    parser.add_argument("--each", type=int, default=3, help="messages each client posts")
    parser.add_argument(
        "--stop",
        choices=["idle", "anywhere", "held"],
        default="idle",
        help="idle: stop the process where PostgreSQL sees it idle in its group's transaction; "
        "anywhere: wherever it holds the row and waits for itself, between two statements of "
        "a pipeline included; held: no process stopped, a plain session holds the row",
    )
    args = parser.parse_args()
    with postgres_server() as admin_url:
        probe(admin_url, args.clients, args.each, args.stop, print)


if __name__ == "__main__":
    main()
