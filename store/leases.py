"""Leases: which process drives which run (migration 0006), and the fencing every append obeys.

A process that drives runs registers itself in `owners` and holds one lease per run in
`run_leases`: owner, expiry, and an epoch that rises at every claim. Every statement here runs
on the writer's connection, inside a transaction the writer opened with `BEGIN IMMEDIATE`, so a
claim and the appends that check it are serialised with every other process's writes:

- `claim` takes a run whose lease is missing, released, expired or already ours (epoch + 1);
- `fence` is the check each append makes: the lease row still names this owner and epoch, so
  after another process claimed the run (it found our lease expired: we were stopped, or too
  slow to renew), nothing we queue for it is ever written;
- `renew` pushes the expiry of every live lease we hold and reports the ones we lost;
- `retire` marks a run that ended (nobody claims it again; late events of ours still pass);
- `release` lets every lease go when the process exits cleanly, so another takes the runs at
  once (a hand-over) rather than after the expiry (a take-over).

Times are the writers' own clocks (`time.time()`); on one machine they agree, and the TTL
(seconds) dwarfs any skew between machines sharing a database.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtui.domain.errors import ConflictError, NotFoundError, RunOwnedError
from runtui.domain.status import RunStatus

#: Default time-to-live of a lease, seconds: a run whose owner stopped renewing (killed, its
#: machine gone) is taken over after this long.
LEASE_TTL_S = 5.0

#: Statuses of a run that has ended: never claimed again.
_ENDED = frozenset(s.value for s in RunStatus if s.is_terminal)

RELEASED, EXPIRED, UNOWNED, RELOADED = "released", "expired", "unowned", "reloaded"


@dataclass(frozen=True)
class Owner:
    """This process, as the lease tables name it."""

    owner_id: str
    label: str
    pid: int
    host: str

    @classmethod
    def of_this_process(cls) -> Owner:
        host = this_host()
        command = _command_name(sys.argv)
        return cls(
            owner_id=uuid.uuid4().hex[:16],
            label=f"pid {os.getpid()} on {host} ({command or 'python'})",
            pid=os.getpid(),
            host=host,
        )


def _command_name(argv: list[str]) -> str:
    """What this process is, in a few words: `runtui serve`, `runtui run`, `my_script.py`."""
    if not argv or not argv[0]:
        return "python"
    program = os.path.basename(argv[0])
    if program == "__main__.py":
        program = os.path.basename(os.path.dirname(argv[0])) or "python"
    words = [program]
    skip = False
    for arg in argv[1:]:
        if skip:
            skip = False
            continue
        if arg.startswith("-"):
            skip = "=" not in arg and arg in _OPTIONS_WITH_VALUES
            continue
        words.append(arg)
        break  # the subcommand is enough
    return " ".join(words)[:60]


#: Options of the command line that take a value (skipped when naming the command).
_OPTIONS_WITH_VALUES = frozenset({"--db", "--config", "--server", "--log-level", "--log-file"})


def this_host() -> str:
    """This machine's name as leases record it: `RUNTUI_NODE_NAME` if set (nodes that share a
    host name, or processes standing in for machines in a test), else the host name."""
    return os.environ.get("RUNTUI_NODE_NAME") or socket.gethostname()


def gone(pid: int, host: str) -> bool:
    """Whether the owner process `pid` on `host` is known to be dead: only on this machine (a
    process on another one is only seen to stop renewing). A reused pid reads as alive, which
    errs on the safe side: the lease then simply expires."""
    if host != this_host() or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's process
        return False
    return False


@dataclass(frozen=True)
class Claimed:
    epoch: int
    how: str  # released | expired | unowned | reloaded (this process, after a restart)
    previous: str | None  # the previous owner's label, when known


def register(cur: sqlite3.Cursor, me: Owner, now: float) -> None:
    cur.execute(
        "INSERT INTO owners (owner_id, label, pid, host, started_at, seen_at)"
        " VALUES (?,?,?,?,?,?) ON CONFLICT (owner_id) DO UPDATE SET seen_at = excluded.seen_at",
        (me.owner_id, me.label, me.pid, me.host, now, now),
    )


def announce(cur: sqlite3.Cursor, me: Owner, url: str) -> None:
    cur.execute("UPDATE owners SET url = ? WHERE owner_id = ?", (url, me.owner_id))


def create(cur: sqlite3.Cursor, me: Owner, run_id: str, now: float, ttl: float) -> None:
    """The lease of a run this process creates (in its `run.created` transaction): epoch 1."""
    cur.execute(
        "INSERT INTO run_leases (run_id, owner, epoch, expires_at, claimed_at) VALUES (?,?,1,?,?)",
        (run_id, me.owner_id, now + ttl, now),
    )


def claim(cur: sqlite3.Cursor, me: Owner, run_id: str, now: float, ttl: float) -> Claimed:
    """Take `run_id` if nobody live holds it; `RunOwnedError` naming the holder if someone does,
    `ConflictError` if it ended, `NotFoundError` if there is no such run."""
    run = cur.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if run is None:
        raise NotFoundError(f"run {run_id} not found")
    if run[0] in _ENDED:
        raise ConflictError(f"run {run_id} has already ended ({run[0]})")
    lease = cur.execute(
        "SELECT l.owner, l.epoch, l.expires_at, o.label, o.pid, o.host FROM run_leases l"
        " LEFT JOIN owners o ON o.owner_id = l.owner WHERE l.run_id = ?",
        (run_id,),
    ).fetchone()
    if lease is None:
        how, previous, epoch = UNOWNED, None, 1
    else:
        owner, old_epoch, expires_at, label, pid, host = lease
        if owner != me.owner_id and not claimable(owner, expires_at, pid, host, now):
            raise RunOwnedError(run_id, label or f"another process ({owner})")
        how = RELOADED if owner == me.owner_id else RELEASED if owner is None else EXPIRED
        previous, epoch = label, int(old_epoch) + 1
    cur.execute(
        "INSERT INTO run_leases (run_id, owner, epoch, expires_at, claimed_at) VALUES"
        " (?,?,?,?,?) ON CONFLICT (run_id) DO UPDATE SET owner = excluded.owner,"
        " epoch = excluded.epoch, expires_at = excluded.expires_at,"
        " claimed_at = excluded.claimed_at",
        (run_id, me.owner_id, epoch, now + ttl, now),
    )
    return Claimed(epoch, how, previous)


def fence(cur: sqlite3.Cursor, me: Owner, held: dict[str, int], run_ids: set[str]) -> set[str]:
    """Of `run_ids` (runs this process holds, by `held`), the ones it no longer holds."""
    if not run_ids:
        return set()
    ids = sorted(run_ids)
    found: dict[str, tuple[Any, Any]] = {}
    for start in range(0, len(ids), _CHUNK):  # one query per chunk, not one per run
        chunk = ids[start : start + _CHUNK]
        rows = cur.execute(
            "SELECT run_id, owner, epoch FROM run_leases WHERE run_id IN"
            f" ({', '.join('?' * len(chunk))})",
            chunk,
        ).fetchall()
        found.update({r[0]: (r[1], r[2]) for r in rows})
    return {
        run_id
        for run_id in run_ids
        if found.get(run_id, (None, None)) != (me.owner_id, held.get(run_id))
    }


#: Run ids per fencing query (SQLite allows 32,766 parameters; PostgreSQL 65,535).
_CHUNK = 500


def renew(cur: sqlite3.Cursor, me: Owner, held: dict[str, int], now: float, ttl: float) -> set[str]:
    """Push the expiry of every live lease held; the runs of `held` that are no longer ours."""
    cur.execute("UPDATE owners SET seen_at = ? WHERE owner_id = ?", (now, me.owner_id))
    if cur.rowcount == 0:  # our row was removed (a clean exit of ours raced this): add it back
        register(cur, me, now)
    cur.execute(
        "UPDATE run_leases SET expires_at = ? WHERE owner = ? AND expires_at > 0",
        (now + ttl, me.owner_id),
    )
    mine = {
        r[0]: int(r[1])
        for r in cur.execute(
            "SELECT run_id, epoch FROM run_leases WHERE owner = ?", (me.owner_id,)
        ).fetchall()
    }
    return {run_id for run_id, epoch in held.items() if mine.get(run_id) != epoch}


def retire(cur: sqlite3.Cursor, me: Owner, run_ids: set[str]) -> None:
    """Runs that ended: their leases stop being renewed (an ended run is never claimed)."""
    cur.executemany(
        "UPDATE run_leases SET expires_at = 0 WHERE run_id = ? AND owner = ?",
        [(run_id, me.owner_id) for run_id in run_ids],
    )


def release(cur: sqlite3.Cursor, me: Owner, run_ids: set[str] | None = None) -> None:
    """Let go of `run_ids` (all of ours if None): another process may claim them at once."""
    if run_ids is None:
        cur.execute(
            "UPDATE run_leases SET owner = NULL, expires_at = 0 WHERE owner = ?", (me.owner_id,)
        )
        cur.execute("DELETE FROM owners WHERE owner_id = ?", (me.owner_id,))
        return
    cur.executemany(
        "UPDATE run_leases SET owner = NULL, expires_at = 0 WHERE run_id = ? AND owner = ?",
        [(run_id, me.owner_id) for run_id in run_ids],
    )


@dataclass(frozen=True)
class Holder:
    owner_id: str
    label: str
    url: str | None
    expires_at: float


def holder_of(conn: sqlite3.Connection, run_id: str, now: float) -> Holder | None:
    """Who drives `run_id` now (a live, unexpired lease of a process not known dead), or
    None."""
    row = conn.execute(
        "SELECT l.owner, COALESCE(o.label, l.owner), o.url, l.expires_at, o.pid, o.host"
        " FROM run_leases l LEFT JOIN owners o ON o.owner_id = l.owner WHERE l.run_id = ?",
        (run_id,),
    ).fetchone()
    if row is None or claimable(row[0], row[3], row[4], row[5], now):
        return None
    return Holder(row[0], row[1], row[2], row[3])


def claimable(
    owner: str | None, expires_at: float | None, pid: int | None, host: str | None, now: float
) -> bool:
    """Whether a live run with this lease (None: no lease) is nobody's: never owned, released,
    expired, or held by a process known to be dead."""
    if owner is None or expires_at is None or expires_at < now:
        return True
    return pid is not None and host is not None and gone(int(pid), str(host))


#: An owner that has not renewed for this many TTLs is taken for gone.
STALE_AFTER_TTLS = 3


def serving_url(db_path: Path | str, ttl: float = LEASE_TTL_S) -> str | None:
    """The API URL of a live `runtui serve` on the database at `db_path`, if one runs (read
    only: a missing or older database has none)."""
    from runtui.store.pg import is_postgres, side_connection

    try:
        if not is_postgres(db_path) and not Path(db_path).exists():
            return None
        conn = side_connection(db_path, read_only=True)
    except Exception:  # unreadable: the command says why when it opens it
        return None
    try:
        row = conn.execute(
            "SELECT url FROM owners WHERE url IS NOT NULL AND seen_at >= ?"
            " ORDER BY seen_at DESC LIMIT 1",
            (time.time() - STALE_AFTER_TTLS * ttl,),
        ).fetchone()
    except Exception:  # no owners table yet (an older schema), or unreadable
        return None
    finally:
        conn.close()
    return row[0] if row else None
