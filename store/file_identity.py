"""Notice a database file deleted or replaced under the process that writes it.

SQLite keeps writing to the file it opened: if someone deletes the database (or moves another
file into its place), every later commit goes to a file nobody can open again, and is lost
when the process ends, while the runtime goes on answering as if all were well. The writer
asks before each commit whether its path still names the file it opened (a `stat`, a few
microseconds); if not, it refuses every write from then on (the runtime pauses, readiness says
why), and once copies what was committed, through its still-open connection, to a new file
beside the old path (`rescue`), so nothing committed is lost.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path


class FileIdentity:
    """The file a path named when the database was opened (device and inode)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        st = os.stat(path)
        self._identity = (st.st_dev, st.st_ino)

    def problem(self) -> str | None:
        """Why the path no longer names the opened file, or None while it does."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return f"the database file {self.path} was deleted under the runtime"
        except OSError as exc:
            return f"the database file {self.path} cannot be checked: {exc}"
        if (st.st_dev, st.st_ino) != self._identity:
            return f"the database file {self.path} was replaced under the runtime"
        return None


def rescue(conn: sqlite3.Connection, path: Path) -> Path:
    """Copy the database behind `conn` to a new file next to `path`; its path."""
    target = path.with_name(f"{path.name}.rescued-{time.strftime('%Y%m%d-%H%M%S')}")
    copy = sqlite3.connect(target)
    try:
        conn.backup(copy)
    finally:
        copy.close()
    os.chmod(target, 0o600)
    return target
