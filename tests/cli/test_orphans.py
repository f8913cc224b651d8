"""kill -9 of the process driving a run never leaves an attempt running beside its re-run.

The task's first attempt starts a long sleep in its own process group and records its pid; its
second attempt (after the restart) fails unless that sleep is gone by the time it starts. The
driving process is `runtui run` (resumed by `runtui resume`) or `runtui serve` (restarted)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from runtui.actors.operators.process_group import (
    MARKER,
    PDEATHSIG_PREFIX,
    describe,
    kill_marked,
    marked,
    members,
)
from runtui.domain.events import ProcessGroupRef
from tests.cli.serving import ROOT, Serve, ended, runtui
from tests.cli.test_cli_server import query, wait_for

CHECKING_TASK = """
name = "orphans"
[[tasks]]
id = "long"
kind = "shell"
cmd = '''
if [ -f "{dir}/old.pid" ]; then
  old=$(cat "{dir}/old.pid")
  # a zombie waiting for init to reap it runs nothing: only a live process counts
  if [ -e /proc/$old ] && ! grep -q ') Z ' /proc/$old/stat; then echo old-still-running; exit 9; fi
  echo old-gone; exit 0
fi
sleep 300 & echo $! > "{dir}/old.pid"; wait
'''
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_bytes()
    return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] != b"Z"


def running_attempt(db: Path, tmp: Path) -> tuple[str, int]:
    wait_for(lambda: (tmp / "old.pid").exists(), "the first attempt to start its sleep")
    wait_for(
        lambda: query(db, "SELECT COUNT(*) FROM events WHERE kind = 'attempt.status'") == [(1,)],
        "the attempt's process group to be recorded",
    )
    ((run_id,),) = query(db, "SELECT run_id FROM runs")
    return str(run_id), int((tmp / "old.pid").read_text())


def killed_mid_attempt(db: Path, workflow: Path, tmp: Path) -> tuple[str, int]:
    """`runtui run` killed with SIGKILL while the first attempt runs: (run id, its sleep's pid)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "runtui", "--db", str(db), "run", str(workflow)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        return running_attempt(db, tmp)
    finally:
        proc.kill()
        proc.wait(timeout=30)


@pytest.mark.parametrize("driver", ["embedded", "serve"])
def test_kill_9_then_restart_kills_the_old_attempt_first(
    driver: str, db_path: Path, tmp_path: Path, serve: Serve
) -> None:
    workflow = tmp_path / "orphans.toml"
    workflow.write_text(CHECKING_TASK.format(dir=tmp_path))
    if driver == "serve":
        serve.start()
        submitted = serve.submit(workflow.read_text())
        run_id, old = running_attempt(db_path, tmp_path)
        assert run_id == submitted
        serve.stop(signal.SIGKILL)
        assert alive(old)  # the grandchild lives on after its runtime died...
        restarted_at = time.time()
        serve.start()  # ...until the next owner resumes the run
    else:
        run_id, old = killed_mid_attempt(db_path, workflow, tmp_path)
        assert alive(old)
        restarted_at = time.time()
        resumed = runtui(db_path, "resume", run_id)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert ended(db_path, run_id) == ("succeeded", "completed", "success")
    assert not alive(old)
    tails = query(db_path, "SELECT attempt, output_tail FROM attempts ORDER BY attempt")
    assert tails[-1] == (1, "old-gone")
    ((started, ended_at),) = query(
        db_path, "SELECT started_at, ended_at FROM attempts WHERE attempt = 0"
    )
    # the interrupted attempt ended when its runtime was last seen, not at the restart
    assert isinstance(ended_at, float)
    assert isinstance(started, float)
    assert started <= ended_at < restarted_at


@pytest.mark.skipif(not PDEATHSIG_PREFIX, reason="setpriv (util-linux) is not installed")
def test_the_shell_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    pid_file = tmp_path / "shell.pid"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys; subprocess.Popen([*sys.argv[1:]], start_new_session=True)"
            ".wait()",
            *PDEATHSIG_PREFIX,
            "/bin/sh",
            "-c",
            f"echo $$ > {pid_file}; exec sleep 300",
        ]
    )
    wait_for(lambda: pid_file.exists() and pid_file.read_text().strip() != "", "the shell")
    shell = int(pid_file.read_text())
    assert alive(shell)
    parent.kill()
    parent.wait(timeout=10)
    wait_for(lambda: not alive(shell), "the shell to die with its parent")


def test_a_reused_pid_is_never_treated_as_the_old_group() -> None:
    me = describe(os.getpid())
    assert me is not None
    same = members(me)
    assert same is not None  # our own group leader, same start time: it would be ours
    reused = ProcessGroupRef(pgid=me.pgid, start_ticks=me.start_ticks + 1, boot_id=me.boot_id)
    assert members(reused) is None
    other_boot = ProcessGroupRef(pgid=me.pgid, start_ticks=me.start_ticks, boot_id="elsewhere")
    assert members(other_boot) is None


@pytest.mark.anyio
async def test_an_unrecorded_attempt_is_found_by_its_key(tmp_path: Path) -> None:
    # The runtime died between starting the attempt and recording its group.
    key = f"run-{tmp_path.name}:task:0"
    child = await anyio.open_process(["sleep", "300"], env={**os.environ, MARKER: key})
    async with child:
        assert marked(key) == [child.pid]
        assert marked(key + "0") == []  # another attempt's key is not a prefix match
        assert await kill_marked(key) == 1
        assert await child.wait() == -signal.SIGKILL


def test_cancelling_an_interrupted_run_starts_nothing_again(db_path: Path, tmp_path: Path) -> None:
    workflow = tmp_path / "orphans.toml"
    workflow.write_text(CHECKING_TASK.format(dir=tmp_path))
    run_id, old = killed_mid_attempt(db_path, workflow, tmp_path)
    cancelled = runtui(db_path, "cancel", run_id)
    assert cancelled.returncode == 0, cancelled.stdout + cancelled.stderr
    assert ended(db_path, run_id) == ("cancelled", "user_abort", "stopped")
    assert query(db_path, "SELECT attempt, status FROM attempts") == [(0, "cancelled")]
    assert not alive(old)  # what the interrupted attempt left running was stopped too


EXTERNAL = """
name = "elsewhere"
[[tasks]]
id = "job"
kind = "external"
submit = 'echo submitted >> "{dir}/submits"; echo job-1'
poll = 'if [ -f "{dir}/done" ]; then echo done; else echo running; fi'
poll_interval_s = 0.1
"""


def test_a_job_running_elsewhere_is_polled_again_not_submitted_again(
    db_path: Path, tmp_path: Path
) -> None:
    workflow = tmp_path / "external.toml"
    workflow.write_text(EXTERNAL.format(dir=tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "runtui", "--db", str(db_path), "run", str(workflow)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )

    def submitted() -> bool:
        try:
            return query(db_path, "SELECT status FROM attempts") == [("waiting_external",)]
        except sqlite3.OperationalError:  # the database is not there yet
            return False

    try:
        wait_for(submitted, "the job to be submitted")
    finally:
        proc.kill()
        proc.wait(timeout=30)
    (tmp_path / "done").touch()  # the job finished while nobody was polling it
    ((run_id,),) = query(db_path, "SELECT run_id FROM runs")
    resumed = runtui(db_path, "resume", str(run_id))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert ended(db_path, str(run_id)) == ("succeeded", "completed", "success")
    assert (tmp_path / "submits").read_text() == "submitted\n"  # once
    assert query(db_path, "SELECT attempt, status, external_id FROM attempts") == [
        (0, "completed", "job-1")
    ]
