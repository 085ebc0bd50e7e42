"""Who owns an embedded chdb directory: an exclusive advisory lock beside it.

chdb lets one process open a data directory, and a process that opens it for one query holds
it for as long as that query runs. Every process that opens the directory read-write first
takes ``<directory>.lock`` with ``fcntl.flock`` and keeps it until it closes the store; the
kernel releases the lock when its holder dies, even by SIGKILL, so holding it proves that
the owner is alive, and a free lock proves that nobody has the directory open.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from pathlib import Path

from sinks.exceptions import StoreLocked

log = logging.getLogger(__name__)
POLL_SECONDS = 0.1


def lock_path(chdb_path: Path) -> Path:
    """The owner lock of a chdb directory: a file beside it, never inside."""
    return chdb_path.with_name(f"{chdb_path.name}.lock")


def lock_holder(chdb_path: Path) -> str:
    """Who holds the lock, as its holder recorded it (``process 123 (kam sink)``)."""
    try:
        pid = int(lock_path(chdb_path).read_text().strip())
    except (OSError, ValueError):
        return "another process"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return f"process {pid}"
    return f"process {pid} ({command})"


class StoreOwnership:
    """The owner lock of one chdb directory, held from :meth:`acquire` to :meth:`release`."""

    def __init__(self, fd: int, chdb_path: Path) -> None:
        self._fd: int | None = fd
        self.chdb_path = chdb_path

    @classmethod
    def acquire(cls, chdb_path: Path, *, wait: float) -> StoreOwnership:
        """Take the lock, waiting up to ``wait`` seconds; :class:`StoreLocked` if still held."""
        path = lock_path(chdb_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait
        logged = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise StoreLocked(
                        f"{lock_holder(chdb_path)} has the chdb directory {chdb_path} open"
                    ) from None
                if not logged:
                    log.info("waiting up to %.0fs for %s to close %s", wait,
                             lock_holder(chdb_path), chdb_path)  # fmt: skip
                    logged = True
                time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(fd, chdb_path)

    def release(self) -> None:
        """Give the directory up (closing the file releases the lock); idempotent."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
