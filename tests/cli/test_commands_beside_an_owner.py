"""Commands from a shell while other runtui processes drive runs of the same database: each
process drives the runs it holds leases on; a verb on a run another process drives becomes a
command that process applies (`actors.delegate`, `actors.command_intake`).

Real processes throughout: `runtui serve --no-api` (it takes over runs nobody drives), a
`runtui run` driving its run, and a process that holds a run's lease but takes no command (it
then goes away, and the requester takes the run over).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.serving import ROOT, runtui
from tests.cli.test_cli_runtime import wait_for

SLOW = 'name = "slow"\n[[tasks]]\nid = "nap"\nkind = "sleep"\nseconds = 30\n'
QUICK = 'name = "quick"\n[[tasks]]\nid = "a"\nkind = "noop"\n'
BRIEF = 'name = "brief"\n[[tasks]]\nid = "nap"\nkind = "sleep"\nseconds = 1.5\n'


def start(db: Path, *args: str, log: Path) -> subprocess.Popen[str]:
    with log.open("a") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "runtui", "--db", str(db), *args],
            stdout=err,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )


def sql(db: Path, query: str, *args: object) -> list[tuple[object, ...]]:
    if not db.exists():
        return []
    conn = sqlite3.connect(db)
    try:
        return conn.execute(query, args).fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        conn.close()


def commands(db: Path) -> list[tuple[str, str]]:
    return [(str(k), str(s)) for k, s in sql(db, "SELECT kind, state FROM commands")]


def driver_of(db: Path, run_id: str) -> str | None:
    """The label of the process holding `run_id`'s live lease."""
    rows = sql(
        db,
        "SELECT o.label FROM run_leases l JOIN owners o ON o.owner_id = l.owner"
        " WHERE l.run_id = ? AND l.expires_at > ?",
        run_id,
        time.time(),
    )
    return str(rows[0][0]) if rows else None


def claims(db: Path, run_id: str) -> list[str]:
    """How each claim of the run went (`run.claimed` events), in order."""
    from runtui.domain.events import RunClaimed, decode_event

    return [
        body.how
        for (payload,) in sql(
            db, "SELECT payload FROM events WHERE run_id = ? ORDER BY seq", run_id
        )
        if isinstance(body := decode_event(payload), RunClaimed)  # type: ignore[arg-type]
    ]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Path]:
    """A database that `runtui serve --no-api` drives runs of (no URL: commands go through
    the file)."""
    db = tmp_path / "runs.db"
    serve = start(db, "serve", "--no-api", log=tmp_path / "serve.log")
    try:
        wait_for(lambda: bool(sql(db, "SELECT 1 FROM owners")), "serve to start")
        yield db
    finally:
        serve.terminate()
        serve.wait(timeout=30)


def test_a_run_left_at_a_gate_is_handed_over_and_decided_through_its_driver(
    served: Path,
) -> None:
    run = runtui(served, "run", "--demo")  # drives its run here, exits at the gate
    assert run.returncode == 7, run.stderr
    (run_id,) = (str(r[0]) for r in sql(served, "SELECT run_id FROM runs"))
    # It let the run go at exit; serve takes it over as a hand-over, not an interruption.
    wait_for(lambda: "serve" in (driver_of(served, run_id) or ""), "serve to take the run")
    assert claims(served, run_id) == ["released"]
    statuses = sql(served, "SELECT status FROM runs")
    assert statuses == [("awaiting_approval",)]
    pending = json.loads(runtui(served, "approvals", "--json").stdout.splitlines()[0])
    approved = runtui(served, "approve", pending["approval_id"], "--by", "ann", "--reason", "ok")
    assert approved.returncode == 0, approved.stderr
    assert "succeeded" in approved.stdout
    again = runtui(served, "reject", pending["approval_id"], "--reason", "late")
    assert again.returncode == 2
    assert "already decided: approve by ann" in again.stderr
    assert commands(served) == [("approve", "done")]  # applied by serve, which drives it
    assert sql(served, "SELECT decided_by FROM approvals") == [("ann",)]
    assert claims(served, run_id) == ["released"]  # nobody else took it


def test_cancel_from_another_shell_stops_the_run_runtui_run_drives(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    flow = tmp_path / "slow.toml"
    flow.write_text(SLOW)
    driver = start(db, "run", str(flow), log=tmp_path / "run.log")
    try:
        wait_for(lambda: bool(sql(db, "SELECT 1 FROM runs")), "runtui run to start its run")
        (run_id,) = (str(r[0]) for r in sql(db, "SELECT run_id FROM runs"))
        cancelled = runtui(db, "cancel", run_id)
        assert cancelled.returncode == 0, cancelled.stderr
        assert driver.wait(timeout=30) == 6  # the run it drove was cancelled
    finally:
        if driver.poll() is None:
            driver.kill()
    assert "cancelled" in (tmp_path / "run.log").read_text()
    assert commands(db) == [("cancel", "done")]


def test_two_runtui_run_at_once_both_finish_each_driving_its_own(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    (tmp_path / "brief.toml").write_text(BRIEF)
    (tmp_path / "quick.toml").write_text(QUICK)
    first = start(db, "run", str(tmp_path / "brief.toml"), log=tmp_path / "first.log")
    try:
        wait_for(lambda: bool(sql(db, "SELECT 1 FROM runs")), "the first run to start")
        second = runtui(db, "run", str(tmp_path / "quick.toml"))
        assert second.returncode == 0, second.stderr
        assert first.wait(timeout=30) == 0
    finally:
        if first.poll() is None:
            first.kill()
    statuses = sql(db, "SELECT workflow, status FROM runs")
    assert sorted(statuses) == [("brief", "succeeded"), ("quick", "succeeded")]
    assert commands(db) == []  # nothing to hand over: each drove its own
    assert sql(db, "SELECT DISTINCT epoch FROM run_leases") == [(1,)]  # never claimed again


def test_a_command_nobody_takes_is_taken_back_and_applied_here(tmp_path: Path) -> None:
    """The run's driver goes away without taking the command: once its lease expires the
    requester withdraws the command, takes the run over and applies the decision itself."""
    db = tmp_path / "runs.db"
    assert runtui(db, "run", "--demo").returncode == 7
    (run_id,) = (str(r[0]) for r in sql(db, "SELECT run_id FROM runs"))
    pending = json.loads(runtui(db, "approvals", "--json").stdout.splitlines()[0])
    with sqlite3.connect(db) as conn:  # a driver that holds the run and takes no command
        conn.execute(
            "INSERT INTO owners VALUES ('ghost', 'ghost (test)', 1, 'here', ?, ?, NULL)",
            (time.time(), time.time()),
        )
        conn.execute(
            "UPDATE run_leases SET owner = 'ghost', epoch = epoch + 1, expires_at = ?"
            " WHERE run_id = ?",
            (time.time() + 2, run_id),
        )
    approve = runtui(db, "approve", pending["approval_id"])
    assert approve.returncode == 0, approve.stderr
    assert "succeeded" in approve.stdout
    assert commands(db) == [("approve", "withdrawn")]
    assert claims(db, run_id) == ["expired"]  # a take-over: the ghost stopped renewing


def test_a_runtui_from_before_leases_is_kept_out_and_named(tmp_path: Path) -> None:
    """A runtui from before ownership per run took `FILE.lock` exclusively and wrote without
    leases: beside it, a runtime command refuses to start (exit 4) and names it; and while this
    runtui writes, such an exclusive lock cannot be taken (the shared one is held)."""
    import fcntl
    import os

    db = tmp_path / "runs.db"
    lock = tmp_path / "runs.db.lock"
    fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        os.write(fd, json.dumps({"pid": 4242, "command": "runtui serve"}).encode())
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as the older runtui held it
        refused = runtui(db, "run", "--demo")
        assert refused.returncode == 4, refused.stderr
        assert "locked by pid 4242 (runtui serve), an older runtui" in refused.stderr
        fcntl.flock(fd, fcntl.LOCK_UN)
        flow = tmp_path / "slow.toml"
        flow.write_text(SLOW)
        driver = start(db, "run", str(flow), log=tmp_path / "run.log")
        try:
            wait_for(lambda: bool(sql(db, "SELECT 1 FROM runs")), "runtui run to start")
            with pytest.raises(BlockingIOError):  # the older runtui would be refused now
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            driver.kill()
            driver.wait(timeout=30)
    finally:
        os.close(fd)
