"""Exclusive advisory locks (``fcntl.flock``) marking something as in use by one live process.

The kernel releases a lock when its holder dies, even by SIGKILL, so a held lock proves that its
holder is alive and a free one that nobody uses the thing it guards: no stale state to clean up.
The holder writes its pid into the lock file, for messages naming it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from pathlib import Path

from kam.errors import KamError

log = logging.getLogger(__name__)
POLL_SECONDS = 0.1


class LockBusy(KamError):  # noqa: N818 - a state, like StoreLocked
    """Another live process holds the lock; ``holder`` names it."""

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"{holder} holds {path}")
        self.path = path
        self.holder = holder


def lock_holder(path: Path) -> str:
    """The process that last took the lock at ``path``, as ``process 123 (its command line)``."""
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return "another process"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return f"process {pid}"
    return f"process {pid} ({command})"


class ExclusiveLock:
    """A lock held from :meth:`acquire` until :meth:`release` (or the holder's death)."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, path: Path, *, wait: float = 0.0) -> ExclusiveLock:
        """Take the lock, waiting up to ``wait`` seconds; :class:`LockBusy` if still held."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait
        waiting = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LockBusy(path, lock_holder(path)) from None
                if not waiting:
                    log.info("waiting up to %.0fs for %s to release %s",
                             wait, lock_holder(path), path)  # fmt: skip
                    waiting = True
                time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(fd, path)

    def release(self) -> None:
        """Give the lock up (closing the file releases it); idempotent."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
