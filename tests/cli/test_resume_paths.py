"""One run, driven every way a user drives it from a shell: `runtui run` then an embedded
`runtui approve` (a hand-over between two processes), `runtui serve` from start to end, and
`runtui serve` killed with SIGKILL or stopped with SIGTERM at the gate, then restarted. The run
must record the same violations and end the same way on every path."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtui.domain.events import RunStopping, encode_event
from runtui.domain.termination import RunTerminationReason
from tests.actors.resume_scenarios import AFTER_GATE, AFTER_GATE_VIOLATIONS
from tests.cli.serving import Serve, ended, runtui
from tests.cli.test_cli_server import query

PATIENT = (
    'name = "patient"\ntimeout_s = 0.5\n[[tasks]]\nid = "g"\nkind = "gate"\n'
    'approval_timeout_s = 1.0\ndefault = "approve"\n'
    '[[tasks]]\nid = "after"\nkind = "noop"\nneeds = ["g"]'
)


def submit_to_gate(db: Path | str, workflow: Path) -> tuple[str, str]:
    started = runtui(db, "run", str(workflow))
    assert started.returncode == 7, started.stdout + started.stderr
    ((run_id, approval_id),) = query(
        db, "SELECT run_id, approval_id FROM approvals WHERE decision IS NULL"
    )
    return str(run_id), str(approval_id)


@pytest.fixture
def served(database: Path | str, tmp_path: Path) -> Iterator[Serve]:
    """`runtui serve` on each store in turn."""
    s = Serve(database, tmp_path / "serve.log")
    yield s
    s.stop_quietly()


@pytest.mark.parametrize(
    "path", ["embedded", "embedded-resume", "serve", "serve-kill-9", "serve-sigterm"]
)
def test_policies_after_a_gate_on_every_path(
    path: str, database: Path | str, tmp_path: Path, served: Serve
) -> None:
    """On both stores: the same violations and the same end, whichever way the run went."""
    db_path, serve = database, served
    workflow = tmp_path / "after-gate.toml"
    workflow.write_text(AFTER_GATE)
    if path.startswith("serve"):
        serve.start()
    run_id, approval_id = submit_to_gate(db_path, workflow)
    if path == "embedded-resume":  # one more owner in between, which leaves it at the gate
        assert runtui(db_path, "resume", run_id).returncode == 7
    elif path == "serve-kill-9":
        serve.stop(signal.SIGKILL)
        serve.start()
    elif path == "serve-sigterm":
        serve.stop(signal.SIGTERM)
        serve.start()
    approve = runtui(db_path, "approve", approval_id)
    assert approve.returncode in (0, 5), approve.stdout + approve.stderr
    assert ended(db_path, run_id) == ("failed", "budget_exceeded", "failed")
    violations = query(
        db_path, "SELECT policy_id, step_index FROM violations WHERE run_id = ?", (run_id,)
    )
    assert set(violations) == AFTER_GATE_VIOLATIONS
    verify = runtui(db_path, "verify", run_id)
    assert verify.returncode == 0, verify.stdout


@pytest.mark.parametrize("path", ["embedded", "serve"])
def test_time_at_a_gate_is_not_run_time_on_every_path(
    path: str, db_path: Path, tmp_path: Path, serve: Serve
) -> None:
    workflow = tmp_path / "patient.toml"
    workflow.write_text(PATIENT)
    if path == "serve":
        serve.start()
    started = runtui(db_path, "run", str(workflow))
    ((run_id,),) = query(db_path, "SELECT run_id FROM runs")
    assert started.returncode == 7, started.stdout + started.stderr  # waiting at the gate
    if path == "embedded":  # the gate answers itself once a process drives the run again
        time_left = json.loads(runtui(db_path, "approvals", "--json").stdout.splitlines()[0])
        assert time_left["timeout_s"] == 1.0
        # nobody drives the run while its approval times out: the passing time is the subject
        time.sleep(max(0.0, time_left["requested_at"] + 1.0 - time.time()))
        resumed = runtui(db_path, "resume", str(run_id))
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert ended(db_path, str(run_id)) == ("succeeded", "completed", "success")


def test_a_gate_says_what_happens_if_nobody_decides(db_path: Path, tmp_path: Path) -> None:
    workflow = tmp_path / "patient.toml"
    workflow.write_text(PATIENT.replace("approval_timeout_s = 1.0", "approval_timeout_s = 600"))
    started = runtui(db_path, "run", str(workflow))
    assert started.returncode == 7
    assert "    if nobody decides: approve (its default) in 10.0m, at " in started.stdout
    listed = runtui(db_path, "approvals")
    assert "undecided" in listed.stdout
    assert "approve in 10.0m" in listed.stdout or "approve in 9.9m" in listed.stdout


def test_verify_refuses_a_success_that_the_events_forbid(db_path: Path, tmp_path: Path) -> None:
    workflow = tmp_path / "ok.toml"
    workflow.write_text('name = "ok"\n[[tasks]]\nid = "a"\nkind = "noop"')
    assert runtui(db_path, "run", str(workflow)).returncode == 0
    ((run_id, last),) = query(db_path, "SELECT run_id, MAX(seq) FROM events")
    last_seq = int(str(last))
    assert runtui(db_path, "verify", str(run_id)).returncode == 0
    forged = RunStopping(reason=RunTerminationReason.TIMEOUT, error="run timed out")
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(
            "INSERT INTO events (run_id, seq, kind, wave_index, ts, payload)"
            " VALUES (?, ?, 'run.stopping', NULL, ?, ?)",
            (run_id, last_seq + 1, time.time(), encode_event(forged)),
        )
    conn.close()
    bad = runtui(db_path, "verify", str(run_id))
    assert bad.returncode == 1
    assert (
        f"  outcome      CONTRADICTED #{last_seq + 1}: the run ended succeeded,"
        " but stopping: timeout (run timed out)"
    ) in bad.stdout


def test_follow_shows_where_a_shell_attempt_runs(db_path: Path, tmp_path: Path) -> None:
    workflow = tmp_path / "one.toml"
    # a task that is still there when its group is recorded (a bare echo may be gone by then)
    workflow.write_text(
        'name = "one"\n[[tasks]]\nid = "a"\nkind = "shell"\ncmd = "sleep 1; echo hi"'
    )
    followed = runtui(db_path, "run", str(workflow), "--follow")
    assert followed.returncode == 0, followed.stderr
    assert "a attempt 0 running (process group " in followed.stdout
