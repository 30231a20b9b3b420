"""One bot per database: an operating-system lock on a file next to the SQLite database.

``run`` (polling or webhook), ``sandbox`` and ``migrate`` hold an exclusive ``flock`` on
``<database>.lock`` for the life of the process; a second one on the same database is refused
at once (:class:`AlreadyRunning`, one line and exit code 2 from the CLI). The kernel releases
the lock when the process ends, however it ends: a SIGKILLed bot leaves the file behind but
no lock, so nothing is ever stale and the file is never deleted (deleting it would let two
processes lock two different files of the same name). The file holds the holder's pid, for
the message only.

Two bots on one database would each resume the same broadcasts, send the same reminders and
take the same outbox rows; two on one token would also cut each other's polls off (409).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType

from storage.db import IN_MEMORY

LOCK_SUFFIX = ".lock"


class AlreadyRunning(Exception):
    """Another process holds the database's lock."""

    def __init__(self, database: Path, pid: int | None) -> None:
        holder = f"pid {pid}" if pid is not None else "another process"
        super().__init__(
            f"another bot is already running on {database} ({holder}, lock {lock_path(database)});"
            " stop it first, or give this one another [storage] path"
        )
        self.database = database
        self.pid = pid


def lock_path(database: Path) -> Path:
    """``<database>.lock``, next to the database itself."""
    return database.with_name(database.name + LOCK_SUFFIX)


class InstanceLock:
    """The exclusive lock of one database, taken by :meth:`acquire` and released by
    :meth:`release` or when the process ends (an in-memory database needs none)."""

    def __init__(self, database: Path | str) -> None:
        self.database = Path(database)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> InstanceLock:
        """Take the lock now or raise :class:`AlreadyRunning`; never waits."""
        if str(self.database) == IN_MEMORY or self._fd is not None:
            return self
        # The same file however it is named (relative path, symlink).
        path = lock_path(self.database.resolve())
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise AlreadyRunning(self.database, pid) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the only descriptor releases the lock

    def __enter__(self) -> InstanceLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode().strip())
    return None
