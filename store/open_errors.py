"""Why a database file cannot be opened, said in one line that names the file and the cause.

SQLite's own words are often no help: "unable to open database file" is what it says whether
the file is unreadable, its directory cannot be searched, or a WAL database sits on a read-only
file system (a reader must create `FILE-shm` beside it). The OS's errors name a path but not
what runtui was doing. `explained` turns both into a `DatabaseUnusableError` (exit 1); a file
that is no SQLite database at all stays a `MigrationError` (a wrong `--db`: exit 2).
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runtui.domain.errors import DatabaseUnusableError, MigrationError, StoreError

#: What the OS's refusals mean for a database, in words a user can act on.
_OS_CAUSE = {
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    errno.ENOTDIR: "a part of its path is a file, not a directory",
    errno.EEXIST: "not a directory",  # what making a directory says of a file in the way
    errno.EISDIR: "it is a directory",
    errno.ELOOP: "too many symbolic links",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EIO: "I/O error",
}


@contextmanager
def explained(path: Path, *, writing: bool) -> Iterator[None]:
    """Run the block that opens the database at `path` (to own it when `writing`, else to
    read it); an OS or SQLite refusal comes out as an error naming the file and the cause."""
    try:
        yield
    except sqlite3.Error as exc:
        raise from_sqlite(path, exc, writing=writing) from exc
    except OSError as exc:
        raise from_os(path, exc, writing=writing) from exc


def _doing(path: Path, writing: bool) -> str:
    return (
        f"cannot open the database {path} for writing"
        if writing
        else f"cannot read the database {path}"
    )


def _cause(exc: OSError) -> str:
    return _OS_CAUSE.get(exc.errno or 0) or (exc.strerror or str(exc)).lower()


def from_os(path: Path, exc: OSError, *, writing: bool) -> StoreError:
    cause = _cause(exc)
    where = None if exc.filename is None else Path(os.fsdecode(exc.filename))
    if where is not None and where != path:
        cause = f"{where}: {cause}"
    elif exc.errno == errno.EACCES and not os.access(path.parent, os.X_OK):
        cause = f"{cause} on its directory {path.parent} (it cannot be searched)"
    return DatabaseUnusableError(f"{_doing(path, writing)}: {cause}")


def from_sqlite(path: Path, exc: sqlite3.Error, *, writing: bool) -> StoreError:
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name == "SQLITE_NOTADB":
        return MigrationError(f"{path}: not a runtui database: {exc}")
    if name.startswith("SQLITE_CORRUPT"):
        return DatabaseUnusableError(f"the database {path} is damaged: {exc}")
    cause: str | None = None
    if name.startswith("SQLITE_FULL"):
        cause = "the disk is full"
    elif name.startswith(("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM")):
        cause = _cannot_open(path, writing)
    return DatabaseUnusableError(f"{_doing(path, writing)}: {cause or exc}")


def _cannot_open(path: Path, writing: bool) -> str | None:
    """What SQLite's "unable to open" or "readonly" comes down to, asked of the OS: the file
    itself, else its directory, where SQLite keeps `FILE-shm` (and `FILE-wal`) beside it."""
    try:
        os.close(os.open(path, os.O_RDWR if writing else os.O_RDONLY))
    except OSError as exc:
        return _cause(exc)
    folder, shm = path.parent, f"{path.name}-shm"
    try:
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    if read_only:
        return (
            f"read-only file system (SQLite must create {shm} beside a WAL database, even to"
            " read it: read a copy on a writable file system)"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        return (
            f"cannot create {shm} in {folder}: permission denied (SQLite needs it beside a WAL"
            " database, even to read it)"
        )
    return None
