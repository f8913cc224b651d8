"""Commands from a shell while another runtui process owns the database: written as commands
through the database, applied by the owner (`runtui.queued`, `actors.command_intake`).

Real processes throughout: the owner is `runtui serve --no-api` (no URL to go through), a
`runtui run` driving its run, or a bare process that holds the lock and takes nothing (it then
goes away, and the requester takes over).
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
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


def owned(db: Path) -> bool:
    from runtui.store.files import read_owner

    return read_owner(db) is not None


def commands(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return [(str(k), str(s)) for k, s in conn.execute("SELECT kind, state FROM commands")]


@pytest.fixture
def owner(tmp_path: Path) -> Iterator[Path]:
    """A database that `runtui serve --no-api` owns (no URL: commands go through the file)."""
    db = tmp_path / "runs.db"
    serve = start(db, "serve", "--no-api", log=tmp_path / "serve.log")
    try:
        wait_for(lambda: owned(db), "serve to own the database")
        yield db
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)


def test_run_and_decisions_from_a_shell_are_applied_by_the_owner(owner: Path) -> None:
    run = runtui(owner, "run", "--demo")
    assert run.returncode == 7, run.stderr
    assert "is open in another runtui process; it applies this command" in run.stderr
    pending = json.loads(runtui(owner, "approvals", "--json").stdout.splitlines()[0])
    approved = runtui(owner, "approve", pending["approval_id"], "--by", "ann", "--reason", "ok")
    assert approved.returncode == 0, approved.stderr
    assert "succeeded" in approved.stdout
    again = runtui(owner, "reject", pending["approval_id"], "--reason", "late")
    assert again.returncode == 2
    assert "already decided: approve by ann" in again.stderr
    assert commands(owner) == [("submit", "done"), ("approve", "done")]
    decided = sqlite3.connect(owner).execute("SELECT decided_by FROM approvals").fetchone()
    assert decided == ("ann",)


def test_fork_retry_and_health_from_a_shell(owner: Path, tmp_path: Path) -> None:
    failing = tmp_path / "failing.toml"
    failing.write_text('name = "failing"\n[[tasks]]\nid = "x"\nkind = "shell"\ncmd = "exit 3"\n')
    for _ in range(3):
        assert runtui(owner, "run", str(failing)).returncode == 5
    blocked = runtui(owner, "run", str(failing))
    assert blocked.returncode == 2
    assert "workflow failing is blocked" in blocked.stderr  # refused by the owner, said here
    cleared = runtui(owner, "health", "--clear", "failing")
    assert cleared.returncode == 0, cleared.stderr
    run_id = json.loads(runtui(owner, "runs", "ls", "--json").stdout.splitlines()[0])["run_id"]
    retried = runtui(owner, "retry", run_id)
    assert retried.returncode == 5, retried.stderr  # the retry ran, and failed the same way
    assert f"retry 1 of {run_id}" in retried.stdout
    forked = runtui(owner, "rewind", run_id, "--wave", "0")
    assert forked.returncode == 5, forked.stderr
    assert f"fork of {run_id} rewound to wave 0" in forked.stdout
    kinds = [k for k, _ in commands(owner)]
    assert kinds.count("submit") == 4  # the blocked one was refused by the owner
    assert {"clear_health", "retry", "rewind"} <= set(kinds)


def test_cancel_from_another_shell_stops_the_run_runtui_run_drives(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    flow = tmp_path / "slow.toml"
    flow.write_text(SLOW)
    driver = start(db, "run", str(flow), log=tmp_path / "run.log")
    try:
        wait_for(
            lambda: owned(db) and bool(runtui(db, "runs", "ls", "--json").stdout.strip()),
            "runtui run to start its run",
        )
        run_id = json.loads(runtui(db, "runs", "ls", "--json").stdout.splitlines()[0])["run_id"]
        cancelled = runtui(db, "cancel", run_id)
        assert cancelled.returncode == 0, cancelled.stderr
        assert driver.wait(timeout=30) == 6  # the run it drove was cancelled
    finally:
        if driver.poll() is None:
            driver.kill()
    assert "cancelled" in (tmp_path / "run.log").read_text()


def test_two_runtui_run_at_once_both_finish(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    (tmp_path / "brief.toml").write_text(BRIEF)
    (tmp_path / "quick.toml").write_text(QUICK)
    first = start(db, "run", str(tmp_path / "brief.toml"), log=tmp_path / "first.log")
    try:
        wait_for(lambda: owned(db), "the first run to own the database")
        second = runtui(db, "run", str(tmp_path / "quick.toml"))
        assert second.returncode == 0, second.stderr
        assert first.wait(timeout=30) == 0
    finally:
        if first.poll() is None:
            first.kill()
    statuses = sqlite3.connect(db).execute("SELECT workflow, status FROM runs").fetchall()
    assert sorted(statuses) == [("brief", "succeeded"), ("quick", "succeeded")]


def test_a_command_nobody_takes_is_taken_back_and_applied_here(tmp_path: Path) -> None:
    """The owner goes away without taking the command: the requester withdraws it, owns the
    database itself, and applies the decision."""
    db = tmp_path / "runs.db"
    assert runtui(db, "run", "--demo").returncode == 7
    pending = json.loads(runtui(db, "approvals", "--json").stdout.splitlines()[0])
    holding = textwrap.dedent(
        f"""
        import pathlib, sys
        from runtui.store.files import OwnerLock
        OwnerLock(pathlib.Path({str(db)!r})).acquire()
        print("held", flush=True)
        sys.stdin.read()
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", holding],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    ) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with subprocess.Popen(
            [sys.executable, "-m", "runtui", "--db", str(db), "approve", pending["approval_id"]],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        ) as approve:
            wait_for(lambda: commands(db) == [("approve", "pending")], "the command to be sent")
            holder.kill()  # the owner goes away without taking it
            out, err = approve.communicate(timeout=60)
    assert approve.returncode == 0, err
    assert "succeeded" in out
    assert commands(db) == [("approve", "withdrawn")]
