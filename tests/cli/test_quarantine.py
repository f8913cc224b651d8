"""A task that kills the process driving its run would take down every owner that resumes it,
`serve` on every restart. After its runtime has stopped under it `QUARANTINE_AFTER` times the
task is not run again: the run fails, saying why, and the owner stays up."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from runtui.actors.resume import QUARANTINE_AFTER
from tests.cli.serving import ROOT, Serve, ended, runtui
from tests.cli.test_cli_server import query, wait_for

POISON = """
name = "poison"
[[tasks]]
id = "killer"
kind = "shell"
cmd = "kill -9 $PPID; sleep 5"
"""


def why_it_failed(db: Path) -> str:
    ((error,),) = query(db, "SELECT error_message FROM runs")
    return str(error)


def test_embedded_owners_stop_resuming_a_task_that_kills_them(
    db_path: Path, tmp_path: Path
) -> None:
    workflow = tmp_path / "poison.toml"
    workflow.write_text(POISON)
    first = subprocess.run(
        [sys.executable, "-m", "runtui", "--db", str(db_path), "run", str(workflow)],
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )
    assert first.returncode == -signal.SIGKILL
    ((run_id,),) = query(db_path, "SELECT run_id FROM runs")
    for _ in range(QUARANTINE_AFTER - 1):  # each owner that resumes it is killed in turn
        assert runtui(db_path, "resume", str(run_id)).returncode == -signal.SIGKILL
    last = runtui(db_path, "resume", str(run_id))
    assert last.returncode == 5, last.stdout + last.stderr  # failed, and this owner lived
    assert ended(db_path, str(run_id)) == ("failed", "task_failed", "failed")
    assert "quarantined: the runtime stopped 3 times while this task ran" in last.stdout
    assert query(db_path, "SELECT COUNT(*) FROM attempts") == [(QUARANTINE_AFTER,)]


def test_serve_stops_crash_looping_on_a_poison_run(db_path: Path, serve: Serve) -> None:
    serve.start()
    serve.submit(POISON)
    for restart in range(QUARANTINE_AFTER):
        assert serve.process is not None
        assert serve.process.wait(timeout=30) == -signal.SIGKILL  # the task killed it
        # as a service manager would restart it; the task may kill it again before it answers,
        # but the last one, which quarantines the task
        serve.start(ready=restart == QUARANTINE_AFTER - 1)
    ((run_id,),) = query(db_path, "SELECT run_id FROM runs")
    assert ended(db_path, str(run_id)) == ("failed", "task_failed", "failed")
    assert "quarantined" in why_it_failed(db_path)
    wait_for(lambda: serve.api("GET", "/readyz").status_code == 200, "serve to be ready")
    assert serve.process is not None
    assert serve.process.poll() is None


ABORTS = """
name = "aborts"
[[tasks]]
id = "boom"
kind = "python"
function = "tests.actors.pyfuncs:aborts"
"""


def test_a_python_task_that_aborts_fails_its_run_not_serve(db_path: Path, serve: Serve) -> None:
    serve.start()
    run_id = serve.submit(ABORTS)
    assert ended(db_path, run_id) == ("failed", "task_failed", "failed")
    ((error,),) = query(db_path, "SELECT error FROM attempts")
    assert error == "the python process died: killed by signal SIGABRT"
    assert serve.process is not None
    assert serve.process.poll() is None
    assert serve.api("GET", "/readyz").status_code == 200
