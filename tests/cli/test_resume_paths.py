"""One run, driven every way a user drives it from a shell: `runtui run` then an embedded
`runtui approve` (a hand-over between two processes), `runtui serve` from start to end, and
`runtui serve` killed with SIGKILL or stopped with SIGTERM at the gate, then restarted. The run
must record the same violations and end the same way on every path."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.actors.resume_scenarios import AFTER_GATE, AFTER_GATE_VIOLATIONS
from tests.cli.test_cli_server import free_port, query, wait_for

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "resume-paths-token"

PATIENT = (
    'name = "patient"\ntimeout_s = 0.5\n[[tasks]]\nid = "g"\nkind = "gate"\n'
    'approval_timeout_s = 1.0\ndefault = "approve"\n'
    '[[tasks]]\nid = "after"\nkind = "noop"\nneeds = ["g"]'
)


def runtui(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtui", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,  # the workflow's custom rule lives in tests/
        env={**os.environ, "RUNTUI_TOKEN": TOKEN},
    )


class Serve:
    """`runtui serve` on `db`, startable again on the same database after a kill."""

    def __init__(self, db: Path, log: Path) -> None:
        self.db, self.log = db, log
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        port = free_port()
        with self.log.open("a") as err:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "runtui",
                    "--db",
                    str(self.db),
                    "serve",
                    "--port",
                    str(port),
                ],
                stdout=subprocess.DEVNULL,
                stderr=err,
                text=True,
                cwd=ROOT,
                env={**os.environ, "RUNTUI_TOKEN": TOKEN},
            )
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            assert self.process is not None
            assert self.process.poll() is None, self.log.read_text()
            try:
                return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, "runtui serve to be ready")

    def stop(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(timeout=30)
        assert code == (0 if sig is signal.SIGTERM else -signal.SIGKILL), self.log.read_text()


@pytest.fixture
def serve(tmp_path: Path, db_path: Path) -> Iterator[Serve]:
    s = Serve(db_path, tmp_path / "serve.log")
    yield s
    if s.process is not None and s.process.poll() is None:
        s.process.send_signal(signal.SIGTERM)
        s.process.wait(timeout=30)


def ended(db: Path, run_id: str) -> tuple[object, ...]:
    def terminal() -> bool:
        rows = query(db, "SELECT status FROM runs WHERE run_id = ?", (run_id,))
        return rows[0][0] in ("succeeded", "failed", "failed_policy", "cancelled")

    wait_for(terminal, f"run {run_id} to end", timeout=30)
    ((status, reason, result),) = query(
        db,
        "SELECT r.status, r.termination_reason, s.result FROM runs r"
        " JOIN run_summaries s USING (run_id) WHERE run_id = ?",
        (run_id,),
    )
    return status, reason, result


def submit_to_gate(db: Path, workflow: Path) -> tuple[str, str]:
    started = runtui(db, "run", str(workflow))
    assert started.returncode == 7, started.stdout + started.stderr
    ((run_id, approval_id),) = query(
        db, "SELECT run_id, approval_id FROM approvals WHERE decision IS NULL"
    )
    return str(run_id), str(approval_id)


@pytest.mark.parametrize("path", ["embedded", "serve", "serve-kill-9", "serve-sigterm"])
def test_policies_after_a_gate_on_every_path(
    path: str, db_path: Path, tmp_path: Path, serve: Serve
) -> None:
    workflow = tmp_path / "after-gate.toml"
    workflow.write_text(AFTER_GATE)
    if path != "embedded":
        serve.start()
    run_id, approval_id = submit_to_gate(db_path, workflow)
    if path == "serve-kill-9":
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
