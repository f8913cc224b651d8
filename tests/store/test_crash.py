"""Crash safety: SIGKILL a busy writer at a random moment, then check what survived.

Every iteration runs `crash_appender.py` in a subprocess, reads its acknowledgements (one
`run_id seq` line per committed event, printed only after `append` returned) until a random
number has been seen, kills it with SIGKILL and then checks the database with plain sqlite3:
it is intact, every acknowledged event is there, every run's seqs are 1..max with no gap, the
projections agree with the events, and `open_store` can take the database over (the owner lock
died with the process) and continue each run at max+1.

RUNTUI_CRASH_ITERATIONS sets the number of iterations (default 20).
"""

from __future__ import annotations

import os
import random
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import anyio
import pytest

from runtui.domain.errors import RunOwnedError
from runtui.domain.events import AttemptOutput, RunCreated, decode_event, kind_of
from runtui.store import open_store

ITERATIONS = int(os.environ.get("RUNTUI_CRASH_ITERATIONS", "20"))
APPENDER = Path(__file__).with_name("crash_appender.py")
#: Generous: the appender needs well under a second to start and print a few thousand lines.
READ_TIMEOUT_S = 60.0

pytestmark = pytest.mark.slow


def _lines(data: bytes) -> tuple[list[tuple[str, int]], bytes]:
    """Complete `run_id seq` lines in `data`, and the unterminated rest (not acknowledged)."""
    *complete, rest = data.split(b"\n")
    acked = []
    for raw in complete:
        run_id, seq = raw.decode().split(" ")
        acked.append((run_id, int(seq)))
    return acked, rest


def _run_and_kill(db_path: Path, rng: random.Random, stderr_path: Path) -> list[tuple[str, int]]:
    """Start the appender, wait for a random number of acks, SIGKILL it; all acks it printed."""
    target = rng.randint(50, 3000)
    cmd = [sys.executable, str(APPENDER), str(db_path), "--seed", str(rng.randrange(2**32))]
    if rng.random() < 0.5:
        cmd += ["--wal-autocheckpoint", str(rng.choice([1, 4, 16]))]
    # `fast` (synchronous=NORMAL) may lose commits on power loss, but never on a process crash.
    cmd += ["--durability", rng.choice(["full", "fast"])]
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, bufsize=0)
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    acked: list[tuple[str, int]] = []
    pending = b""
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            deadline = time.monotonic() + READ_TIMEOUT_S
            while len(acked) < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not sel.select(remaining):
                    pytest.fail(f"appender printed only {len(acked)}/{target} acks in time")
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    proc.wait()
                    pytest.fail(
                        f"appender exited early (rc={proc.returncode}) after {len(acked)} acks:\n"
                        + stderr_path.read_text(errors="replace")
                    )
                new, pending = _lines(pending + chunk)
                acked += new
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # Whatever it printed before dying is acknowledged too: drain the pipe to EOF.
        while chunk := os.read(fd, 1 << 16):
            pending += chunk
        new, _unterminated = _lines(pending)
        acked += new
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL, stderr_path.read_text(errors="replace")
    return acked


def _check_database(db_path: Path, acked: list[tuple[str, int]]) -> dict[str, int]:
    """Plain-sqlite3 checks after the crash; returns each run's last seq."""
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []

        rows = conn.execute(
            "SELECT position, run_id, seq, kind, payload FROM events ORDER BY position"
        ).fetchall()
        stored = {(run_id, seq) for _, run_id, seq, _, _ in rows}
        assert len(stored) == len(rows)

        # Every acknowledged event (acknowledged once) survived the kill.
        dup = [key for key, n in Counter(acked).items() if n > 1]
        assert not dup, f"acknowledged twice: {dup[:5]}"
        missing = sorted(set(acked) - stored)
        assert not missing, f"{len(missing)} acknowledged events lost, e.g. {missing[:5]}"

        # Positions are 1..N in commit order; per run, seqs are exactly 1..max, growing with
        # position; the first event of each run is run.created; every payload decodes.
        assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
        last_seq: dict[str, int] = {}
        for _, run_id, seq, kind, payload in rows:
            expected = last_seq.get(run_id, 0) + 1
            assert seq == expected, f"run {run_id}: seq {seq} after {expected - 1}"
            body = decode_event(payload)
            assert kind == kind_of(body)
            assert (seq == 1) == isinstance(body, RunCreated), f"run {run_id} seq {seq}: {kind}"
            last_seq[run_id] = seq

        # Projections agree with the events.
        projected = dict(conn.execute("SELECT run_id, last_seq FROM runs").fetchall())
        assert projected == last_seq
    finally:
        conn.close()
    return last_seq


async def _take_over_and_append(db_path: Path, last_seq: dict[str, int]) -> tuple[str, int]:
    """Open the crashed database, claim its longest run once the dead owner's lease expired
    (a `run.claimed` with epoch 2, "expired") and continue it."""
    run_id = max(last_seq, key=lambda r: (last_seq[r], r))
    holders: set[str] = set()
    async with open_store(db_path) as store:
        with anyio.fail_after(10):
            while True:
                try:
                    claimed = await store.writer.claim(run_id)
                    break
                except RunOwnedError as exc:  # the killed appender's lease has not expired yet
                    holders.add(exc.holder)
                    await anyio.sleep(0.05)
        assert all("crash_appender.py" in h for h in holders), holders
        assert (claimed.epoch, claimed.how) == (2, "expired")
        env = await store.writer.append(
            run_id, AttemptOutput(task_id="after-crash", attempt=0, lines=["still here"])
        )
        assert (env.run_id, env.seq) == (run_id, last_seq[run_id] + 2)
        assert (await store.reader.get_run(run_id)).last_seq == env.seq
    return run_id, env.seq


@pytest.mark.parametrize("iteration", range(ITERATIONS))
def test_sigkill_loses_no_acknowledged_event(iteration: int, tmp_path: Path) -> None:
    rng = random.Random(f"runtui-crash-{iteration}")
    db_path = tmp_path / "crash.db"

    acked = _run_and_kill(db_path, rng, tmp_path / "appender.stderr")
    assert acked, "the appender acknowledged nothing"

    last_seq = _check_database(db_path, acked)
    assert set(last_seq) >= {run_id for run_id, _ in acked}

    run_id, seq = anyio.run(_take_over_and_append, db_path, last_seq)

    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute(
            "SELECT MAX(seq) FROM events WHERE run_id = ?", (run_id,)
        ).fetchone() == (seq,)
        assert conn.execute("SELECT last_seq FROM runs WHERE run_id = ?", (run_id,)).fetchone() == (
            seq,
        )
    finally:
        conn.close()
