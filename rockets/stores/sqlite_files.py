"""The files of one SQLite database as a store holds them: the locks that keep a second process
out, and the watch that tells whether the files SQLite writes are still the files at the path.

SQLite goes on writing to a database or ``-wal`` file that was removed under its open
connection, and to a WAL cut short in place (which keeps its inode and its links): every commit
succeeds, and is gone at the next start. A WAL cut short and then written on is worse: SQLite's
next checkpoint copies the zeros of the hole into the database file. So the store asks
:meth:`DatabaseFiles.change` around every write, before it acknowledges one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

import msgspec

from rockets.errors import StoreError

__all__ = ["Change", "DatabaseFiles"]

_WAL_MAGICS = (bytes.fromhex("377f0682"), bytes.fromhex("377f0683"))
"""The first four bytes of a WAL file (big-endian; the last bit says the checksums' byte order)."""
_LOCK_TRIES = 10
"""Attempts at the lock file while other processes take it and let it go (and remove it)."""

# The database files this process holds, by identity (device, inode). A second store of this
# process on one of them is refused before it opens the file: closing any descriptor of a file
# drops every POSIX lock the process holds on it, SQLite's own included.
_HELD: set[tuple[int, int]] = set()


class Change(msgspec.Struct, frozen=True, kw_only=True):
    """How a file of the database changed under the store.

    Attributes:
        file: the file's path.
        what: what happened to it, the end of a sentence (``was removed``).
        damaged: whether the content of the WAL the store writes was lost in place (cut short,
            its header overwritten): nothing of it may be copied into the database any more.
    """

    file: str
    what: str
    damaged: bool


def _identity(stat: os.stat_result) -> tuple[int, int]:
    return stat.st_dev, stat.st_ino


def _at(path: Path | str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


class DatabaseFiles:
    """The database file at ``path``, its WAL and the lock file beside it.

    Two locks keep a second process out: an ``flock`` on the database file itself, so that a
    hard link or a symlink to it is the same file to the lock (a lock file named after the path
    let a hard link through), and one on ``path.db.lock`` beside it (the target's, for a
    symlink), which stays when the database file is removed or replaced while the store runs.
    On Linux an ``flock`` and the POSIX locks SQLite takes ignore each other (but over NFS,
    where SQLite's WAL mode does not work anyway).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.real = path
        """The path SQLite opens: ``path`` with its symlinks resolved (when it is held)."""
        self.wal = Path(f"{path}-wal")
        self._database: tuple[int, tuple[int, int]] | None = None  # descriptor, identity
        self._lock: tuple[int, Path] | None = None
        self._wal: tuple[int, tuple[int, int]] | None = None
        self._wal_size = 0
        self._names = str(path), str(self.wal)

    def hold(self) -> None:
        """Take both locks, creating the database file if there is none.

        Raises:
            StoreError: another rockets store holds the file, or it cannot be opened.
        """
        known = self._stat_or_refuse(self.path)
        if known is not None and _identity(known) in _HELD:
            raise self._in_use()
        self.real = self.path.resolve()
        self.wal = Path(f"{self.real}-wal")
        self._names = str(self.real), str(self.wal)  # looked at around every write
        self._lock = self._lock_beside()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            self._unlock_beside()
            raise StoreError(f"sqlite: cannot open {str(self.path)!r}: {exc}") from exc
        identity = _identity(os.fstat(fd))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            self._unlock_beside()
            raise self._in_use() from None
        _HELD.add(identity)
        self._database = fd, identity

    def watch(self) -> None:
        """Start watching the WAL, once SQLite has opened the database in WAL mode (and so
        made the WAL, which it keeps while a connection is open).

        Raises:
            StoreError: there is no WAL.
        """
        try:
            fd = os.open(self.wal, os.O_RDWR | os.O_CLOEXEC)
        except OSError as exc:
            raise StoreError(f"sqlite: cannot open {str(self.wal)!r}: {exc}") from exc
        opened = os.fstat(fd)
        self._wal = fd, _identity(opened)
        self._wal_size = opened.st_size

    def change(self) -> Change | None:
        """How the files changed since they were held (None: they did not): a few ``stat``
        calls and a read of four bytes.

        Raises:
            OSError: a file could not be looked at.
        """
        if self._database is None:
            return None
        fd, identity = self._database
        at_path = _at(self._names[0])
        if at_path is None or _identity(at_path) != identity:
            # Our file is still open: linked elsewhere, it was moved; with no link, removed.
            moved = os.fstat(fd).st_nlink > 0 and at_path is None
            what = "was moved" if moved else "was removed" if at_path is None else "was replaced"
            return Change(file=str(self.real), what=what, damaged=self._damaged())
        if self._wal is None:
            return None
        wal_fd, wal_identity = self._wal
        wal = _at(self._names[1])
        if wal is None or _identity(wal) != wal_identity:
            what = "was removed" if wal is None else "was replaced"
            return Change(file=str(self.wal), what=what, damaged=self._damaged())
        damage = self._damage(wal_fd, wal.st_size)
        if damage is not None:
            return Change(file=str(self.wal), what=damage, damaged=True)
        self._wal_size = wal.st_size
        return None

    def empty_wal(self) -> None:
        """Cut the WAL the store writes to nothing: a checkpoint then copies none of it (each
        of its reads comes back short), and the next start finds an empty WAL."""
        if self._wal is not None:
            fd = self._wal[0]
            os.ftruncate(fd, 0)
            os.fsync(fd)

    def release(self) -> None:
        """Let go of everything, once SQLite's connections are closed (closing the database
        file's descriptor before would drop SQLite's locks on it too)."""
        if self._wal is not None:
            os.close(self._wal[0])
            self._wal = None
        if self._database is not None:
            fd, identity = self._database
            _HELD.discard(identity)
            os.close(fd)  # which releases the flock
            self._database = None
        self._unlock_beside()

    def _damaged(self) -> bool:
        """Whether the WAL the store writes (wherever it is now) lost content in place."""
        if self._wal is None:
            return False
        fd = self._wal[0]
        return self._damage(fd, os.fstat(fd).st_size) is not None

    def _damage(self, fd: int, size: int) -> str | None:
        """What happened to the WAL in place, if anything: it shrank below what this process
        last saw (SQLite itself never shrinks it while a connection is open, unless asked to),
        its header is gone, or it has a hole (it was cut short, then SQLite wrote on at its
        old end)."""
        if size < self._wal_size:
            return f"was cut short in place ({size} bytes; {self._wal_size} before)"
        if size >= 4 and os.pread(fd, 4, 0) not in _WAL_MAGICS:
            return "lost its header (its first bytes were overwritten)"
        hole = _first_hole(fd, size)
        if hole < size:
            return f"has a hole at byte {hole} (it was cut short in place, then written on)"
        return None

    def _in_use(self) -> StoreError:
        return StoreError(
            f"sqlite: {str(self.path)!r} is in use: another rockets store holds this database "
            "file (under this name or another link to it); SQLite serves one process (use "
            "PostgreSQL to run several)"
        )

    def _stat_or_refuse(self, path: Path) -> os.stat_result | None:
        try:
            return _at(path)
        except OSError as exc:
            raise StoreError(f"sqlite: cannot open {str(path)!r}: {exc}") from exc

    def _lock_beside(self) -> tuple[int, Path]:
        """Lock the file beside the database. Its holder removes it as it lets go, so a lock
        counts only on the file still at the path: one taken on a file removed meanwhile is
        let go, and the one now there is tried.

        Raises:
            StoreError: another process holds it, or it cannot be made.
        """
        path = Path(f"{self.real}.lock")
        for _ in range(_LOCK_TRIES):
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise StoreError(f"sqlite: cannot open {str(path)!r}: {exc}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise self._in_use() from None
            at_path = self._stat_or_refuse(path)
            if at_path is not None and _identity(at_path) == _identity(os.fstat(fd)):
                return fd, path
            os.close(fd)
        raise self._in_use()

    def _unlock_beside(self) -> None:
        if self._lock is None:
            return
        fd, path = self._lock
        self._lock = None
        at_path = _at(path)
        if at_path is not None and _identity(at_path) == _identity(os.fstat(fd)):
            # Removed before it is let go: whoever opens it now finds it gone, and tries again.
            with contextlib.suppress(OSError):
                path.unlink()
        os.close(fd)


def _first_hole(fd: int, size: int) -> int:
    """Where the file's first hole begins (``size`` when it has none, or when its file system
    cannot say)."""
    if size == 0:
        return 0
    try:
        return os.lseek(fd, 0, os.SEEK_HOLE)
    except OSError:
        return size
