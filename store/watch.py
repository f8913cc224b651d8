"""Notice commits made by another process: `PRAGMA data_version`, and the last position.

The API process serves event streams from the database file the runtime writes, so it has to
learn when the runtime committed. Asking SQLite is cheap: `data_version` is answered from the
WAL index in shared memory (no page is read) and changes whenever another connection commits.
A watcher that asks every few milliseconds therefore costs the writer nothing and itself a few
microseconds per look; only a change leads to a real read (`StoreReader.events_since`).
"""

from __future__ import annotations

from pathlib import Path

from runtui.store.pg import is_postgres, side_connection


class CommitWatch:
    """One read-only connection that answers "did anyone commit since I last asked?".

    On PostgreSQL (a URL) there is no `data_version`: a look asks for the last position (an
    index lookup), which changes with every commit of events."""

    def __init__(self, path: Path | str) -> None:
        self._conn = side_connection(path, read_only=True)
        self._postgres = is_postgres(path)
        self._version: int | None = None

    def changed(self) -> bool:
        """True when another connection committed since the previous call (and on the first)."""
        if self._postgres:
            version = self.last_position()
        else:
            version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        if version == self._version:
            return False
        self._version = version
        return True

    def last_position(self) -> int:
        """The position of the last committed event (0 for an empty database)."""
        row = self._conn.execute("SELECT COALESCE(MAX(position), 0) FROM events").fetchone()
        return int(row[0])

    def close(self) -> None:
        self._conn.close()
