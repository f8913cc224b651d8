"""Private files: the database and its lock are created 0600, and one process owns a database.

The owner lock is an `flock` on `<db>.lock`. The kernel drops it when the owner dies, even by
SIGKILL, so a crashed process never leaves a stale lock behind; the file's text names the
holder so that a second process can say who owns the database.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path

from runtui.domain.errors import DatabaseLockedError

PRIVATE_MODE = 0o600


def ensure_private_file(path: Path) -> None:
    """Create `path` (and its directory) if missing, readable and writable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, PRIVATE_MODE)
    os.close(fd)


def bell_path_for(db_path: Path) -> Path:
    """Where the owner of `db_path` listens for "a command is waiting" (a Unix datagram
    socket): in a private directory of this user's, named after the database's absolute path
    (a socket's path is limited to about 100 bytes, so not beside a database in a deep one)."""
    import hashlib
    import tempfile

    digest = hashlib.sha256(str(db_path.absolute()).encode()).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / f"runtui-{os.getuid()}" / f"{digest}.bell"


def ring_bell(db_path: Path) -> None:
    """Tell the owner of `db_path` that a command is waiting (best effort: it also looks by
    itself now and then)."""
    import socket

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as bell:
            bell.sendto(b"!", str(bell_path_for(db_path)))
    except OSError:  # no owner listening (an older runtui, or it just stopped): it polls
        pass


def lock_path_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


class OwnerLock:
    """Exclusive ownership of a database by this process."""

    def __init__(self, db_path: Path) -> None:
        self.path = lock_path_for(db_path)
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, PRIVATE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise DatabaseLockedError(
                f"database {self.path.with_suffix('')} is owned by {holder}; "
                "stop it first; read-only commands (runs ls, runs show, approvals) work beside it"
            ) from None
        try:
            self._describe_holder(fd)
        except OSError:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            raise
        self._fd = fd

    @staticmethod
    def _describe_holder(fd: int) -> None:
        os.ftruncate(fd, 0)
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "command": " ".join(
                os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv)
            )[:200],
        }
        os.write(fd, json.dumps(info).encode())
        os.fsync(fd)

    def announce(self, **extra: object) -> None:
        """Add facts about the owner (e.g. its API's URL) to the lock file for others to read."""
        if self._fd is None:
            return
        raw = os.pread(self._fd, 4096, 0)
        info = json.loads(raw.decode() or "{}")
        info.update(extra)
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps(info).encode(), 0)
        os.fsync(self._fd)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def read_owner(db_path: Path) -> dict[str, object] | None:
    """What the current owner of `db_path` wrote about itself, or None if nobody owns it."""
    path = lock_path_for(db_path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # missing, or not ours to open: owning the database will say why
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:  # held: someone owns it
            raw = os.pread(fd, 4096, 0)
            try:
                info = json.loads(raw.decode() or "{}")
            except ValueError:
                info = {}
            return info if isinstance(info, dict) else {}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_holder(fd: int) -> str:
    try:
        raw = os.pread(fd, 4096, 0)
        info = json.loads(raw.decode() or "{}")
    except (OSError, ValueError):
        return "another process"
    if not info:
        return "another process"
    return (
        f"pid {info.get('pid')} on {info.get('host')} ({info.get('command') or '?'}) "
        f"since {info.get('since')}"
    )
