"""Private files: the database is created 0600; and the bells (Unix datagram sockets, in a
private directory) that tell a process driving runs that a command is waiting for it."""

from __future__ import annotations

import os
import socket
from pathlib import Path

PRIVATE_MODE = 0o600


def ensure_private_file(path: Path) -> None:
    """Create `path` (and its directory) if missing, readable and writable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, PRIVATE_MODE)
    os.close(fd)


def bell_path_for(db_path: Path | str, owner_id: str) -> Path:
    """Where the process `owner_id` driving runs of `db_path` listens for "a command is
    waiting" (a Unix datagram socket): in a private directory of this user's, named after the
    database's absolute path and the owner (a socket's path is limited to about 100 bytes, so
    not beside a database in a deep one)."""
    import hashlib
    import tempfile

    where = db_path if isinstance(db_path, str) else db_path.absolute()
    digest = hashlib.sha256(f"{where}\0{owner_id}".encode()).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / f"runtui-{os.getuid()}" / f"{digest}.bell"


def ring_bell(db_path: Path | str, owner_id: str) -> None:
    """Tell `owner_id` that a command is waiting for it (best effort: it also looks by itself
    now and then, and on another machine it only looks)."""

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as bell:
            bell.sendto(b"!", str(bell_path_for(db_path, owner_id)))
    except OSError:  # not listening here (another machine, or it just stopped): it polls
        pass


def lock_path_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


class WritersLock:
    """A shared `flock` on `<db>.lock`, held by every process writing the database.

    Writers share the database (ownership is per run, `store.leases`), so they share this
    lock; it exists to keep out a runtui from before ownership per run, which took it
    exclusively and wrote without leases. Either way round, the second one is refused, naming
    the older process if it described itself in the file."""

    def __init__(self, db_path: Path) -> None:
        self.path = lock_path_for(db_path)
        self._fd: int | None = None

    def acquire(self) -> None:
        import fcntl
        import json

        from runtui.domain.errors import DatabaseLockedError

        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, PRIVATE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
                holder = f"pid {info['pid']} ({info.get('command') or '?'})"
            except (OSError, ValueError, KeyError, TypeError):
                holder = "another process"
            os.close(fd)
            raise DatabaseLockedError(
                f"database {self.path.with_suffix('')} is locked by {holder}, an older runtui"
                " that drives it alone: stop it (or upgrade it) first"
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing drops the flock
