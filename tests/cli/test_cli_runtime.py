"""The runtime commands as a user runs them: real subprocesses (`python -m runtui`), a real
database file, real workflows with shell tasks, real exit codes and signals."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runtui.domain.events import PhaseChanged, RunStatusChanged, decode_event, encode_event
from runtui.domain.phases import RunPhase

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DEMO = EXAMPLES / "demo.toml"
FAILING = EXAMPLES / "failing.toml"


def runtui(db: Path | str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtui", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def query(db: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def only_run(db: Path) -> str:
    rows = query(db, "SELECT run_id FROM runs")
    assert len(rows) == 1, rows
    return str(rows[0][0])


def approval_id_in(text: str) -> str:
    match = re.search(r"approve (\w+)", text)
    assert match, text
    return match.group(1)


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    """Background processes a test starts; killed (by pid) if the test leaves them running."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
            p.communicate(timeout=10)


def test_gate_waits_then_approve_finishes_and_a_second_decision_is_refused(
    db_path: Path,
) -> None:
    run = runtui(db_path, "run", str(DEMO))
    assert run.returncode == 7, run.stderr
    assert "awaiting_approval" in run.stdout
    assert f"--db {db_path} approve " in run.stdout  # the next step, ready to paste
    approval_id = approval_id_in(run.stdout)
    run_id = only_run(db_path)

    pending = runtui(db_path, "approvals")
    assert pending.returncode == 0, pending.stderr
    (row,) = [line for line in pending.stdout.splitlines() if line.startswith(approval_id)]
    assert run_id in row
    assert "publish-gate" in row
    assert "Publish the report?" in row

    listed = runtui(db_path, "runs", "ls")
    assert "pii_detected (medium)" in listed.stdout  # the worst-violation column

    approve = runtui(db_path, "approve", approval_id, "--by", "ann", "--reason", "ship it")
    assert approve.returncode == 0, approve.stderr
    assert f"run {run_id} (demo): succeeded" in approve.stdout

    show = runtui(db_path, "runs", "show", run_id)
    assert show.returncode == 0, show.stderr
    assert re.search(r"^status\s+succeeded$", show.stdout, re.M)
    assert re.search(r"^\s+3\s+publish-gate\s+gate\s+done\s+0", show.stdout, re.M)
    assert "pii_detected (medium) -> warn" in show.stdout
    assert "audit      COMPLETE" in show.stdout
    assert re.search(r"^  missing  none$", show.stdout, re.M)
    assert "no pending approvals" in runtui(db_path, "approvals").stdout

    again = runtui(db_path, "approve", approval_id)
    assert again.returncode == 2
    assert f"approval {approval_id} was already decided: approve by ann" in again.stderr
    reject = runtui(db_path, "reject", approval_id, "--reason", "too late")
    assert reject.returncode == 2
    assert "already decided: approve by ann" in reject.stderr


def test_reject_fails_the_run_with_approval_rejected(db_path: Path) -> None:
    run = runtui(db_path, "run", str(DEMO))
    assert run.returncode == 7, run.stderr
    approval_id = approval_id_in(run.stdout)

    no_reason = runtui(db_path, "reject", approval_id)
    assert no_reason.returncode == 2
    assert "--reason" in no_reason.stderr

    reject = runtui(db_path, "reject", approval_id, "--reason", "not this week", "--by", "bo")
    assert reject.returncode == 5, reject.stderr
    assert "approval_rejected" in reject.stdout
    show = runtui(db_path, "runs", "show", only_run(db_path))
    assert re.search(r"^termination_reason\s+approval_rejected$", show.stdout, re.M)
    assert re.search(r"^status\s+failed$", show.stdout, re.M)
    assert "reject by bo: not this week" in show.stdout


def test_cancel_ends_a_waiting_run_and_withdraws_its_approval(
    db_path: Path,
) -> None:
    run = runtui(db_path, "run", str(DEMO))
    assert run.returncode == 7, run.stderr
    approval_id = approval_id_in(run.stdout)
    run_id = only_run(db_path)
    cancel = runtui(db_path, "cancel", run_id)
    assert cancel.returncode == 0, cancel.stderr
    assert f"run {run_id} (demo): cancelled" in cancel.stdout
    assert runtui(db_path, "cancel", run_id).returncode == 2  # already ended
    assert "no pending approvals" in runtui(db_path, "approvals").stdout
    late = runtui(db_path, "approve", approval_id)
    assert late.returncode == 2
    assert f"approval {approval_id} was already decided: reject by runtui" in late.stderr


def test_run_exits_at_a_gate_only_after_the_other_branches_ran(
    db_path: Path, tmp_path: Path
) -> None:
    wf = tmp_path / "branches.toml"
    wf.write_text(
        'name = "branches"\n\n[[tasks]]\nid = "gate"\nkind = "gate"\nprompt = "go?"\n\n'
        '[[tasks]]\nid = "a"\nkind = "shell"\ncmd = "sleep 0.2; echo a"\n\n'
        '[[tasks]]\nid = "b"\nkind = "shell"\nneeds = ["a"]\ncmd = "echo b"\n'
    )
    run = runtui(db_path, "run", str(wf))
    assert run.returncode == 7, run.stderr
    tasks = {str(t): str(s) for t, s in query(db_path, "SELECT task_id, status FROM tasks")}
    assert tasks == {"gate": "awaiting_approval", "a": "done", "b": "done"}


def test_failing_run_exits_5_and_follow_prints_events_and_output(db_path: Path) -> None:
    run = runtui(db_path, "run", str(FAILING), "--follow")
    assert run.returncode == 5, run.stderr
    out = run.stdout
    assert re.search(r"#1\s+run\.created\s+workflow failing", out)
    assert "  compile| compiling widgets.c" in out
    assert "EXECUTING -> GOVERNANCE_CHECK" in out
    assert "failed after" in out
    assert "task_failed" in out
    assert "failed: compile: exit code 3" in out
    seqs = [int(s) for s in re.findall(r"^\S+ #(\d+)", out, re.M)]
    assert seqs == sorted(set(seqs))  # each event once, in order

    health = runtui(db_path, "health")
    assert health.returncode == 0, health.stderr
    assert re.search(r"^failing\s+degraded\s+1\s+the latest run failed$", health.stdout, re.M)
    as_json = [json.loads(x) for x in runtui(db_path, "health", "--json").stdout.splitlines()]
    assert as_json == [
        {
            "workflow": "failing",
            "health": "degraded",
            "reasons": ["the latest run failed"],
            "runs_considered": 1,
        }
    ]
    assert runtui(db_path, "health", "--clear", "failing").returncode == 0
    assert re.search(r"^failing\s+healthy\s+0", runtui(db_path, "health").stdout, re.M)
    assert runtui(db_path, "health", "--clear", "nope").returncode == 3


def test_bad_workflow_file_exits_2_naming_file_and_line(db_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "bad"\n\n[[tasks]]\nid = "a"\nkind = "shell"\ncmd = "true"\nretries = "lots"\n'
    )
    out = runtui(db_path, "run", str(bad))
    assert out.returncode == 2
    assert f"{bad}:7: tasks[0] (id=a).retries:" in out.stderr
    assert "Traceback" not in out.stderr
    missing = runtui(db_path, "run", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2
    assert "workflow file not found" in missing.stderr
    assert runtui(db_path, "runs", "ls").returncode == 3  # no database: nothing half-written
    assert not db_path.exists()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '[[policies]]\nid = "words"\ntype = "content_policy"\nseverity = "low"\n'
            'pattern = "(?<=key=)secret"\n',
            ":9: policies[0] (id=words).pattern: invalid regex '(?<=key=)secret': "
            "invalid perl operator: (?<=",
        ),
        (
            '[[tasks]]\nid = "b"\nkind = "shell"\ncmd = "echo \\u0000"\n',
            ":8: tasks[1] (id=b).cmd: contains a NUL byte",
        ),
        (
            '[[tasks]]\nid = "b"\nkind = "sleep"\nseconds = 1e300\n',
            ":8: tasks[1] (id=b).seconds: Input should be less than",
        ),
        ("deep = " + "[" * 500 + "]" * 500 + "\n", ": invalid TOML: nested more than 32 levels"),
    ],
    ids=["lookaround", "nul", "huge-duration", "deep-nesting"],
)
def test_unsafe_workflow_exits_2_naming_file_line_and_field(
    db_path: Path, tmp_path: Path, body: str, expected: str
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[[tasks]]\nid = "a"\nkind = "noop"\n' + body)
    out = runtui(db_path, "run", str(bad))
    assert out.returncode == 2, out.stderr
    assert f"{bad}{expected}" in out.stderr
    assert "Traceback" not in out.stderr
    assert "re2.cc" not in out.stderr  # RE2's own log line stays quiet


def test_rewind_dry_run_changes_nothing_and_rewind_forks(db_path: Path) -> None:
    run = runtui(db_path, "run", str(FAILING), "--json")
    assert run.returncode == 5, run.stderr
    parent = json.loads(run.stdout)  # --json: stdout is the final run, nothing else
    assert parent["status"] == "failed"
    parent_id = parent["run_id"]

    def counts() -> tuple[object, ...]:
        return query(db_path, "SELECT COUNT(*), (SELECT COUNT(*) FROM runs) FROM events")[0]

    before = counts()
    dry = runtui(db_path, "rewind", parent_id, "--wave", "1", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run: nothing changed" in dry.stdout
    lines = dry.stdout.splitlines()
    assert re.match(r"\s+wave\s+kept\s+re-executed", lines[1])
    assert re.search(r"^\s+0\s+fetch-deps\s+docs$", dry.stdout, re.M)  # docs failed: re-run
    assert re.search(r"^\s+1\s+spellcheck\s+compile$", dry.stdout, re.M)
    assert re.search(r"^\s+3\s+—\s+package$", dry.stdout, re.M)
    assert counts() == before

    bad_wave = runtui(db_path, "rewind", parent_id, "--wave", "9")
    assert bad_wave.returncode == 2
    assert "has waves 0..3, not 9" in bad_wave.stderr

    parent_events = query(db_path, "SELECT COUNT(*) FROM events WHERE run_id = ?", (parent_id,))
    fork = runtui(db_path, "rewind", parent_id, "--wave", "1")
    assert fork.returncode == 5, fork.stderr  # compile fails again
    match = re.search(r"^run (\w+): fork of " + parent_id, fork.stdout, re.M)
    assert match, fork.stdout
    child_id = match.group(1)
    lineage = query(
        db_path, "SELECT parent_run_id, rewound_from_wave FROM runs WHERE run_id = ?", (child_id,)
    )
    assert lineage == [(parent_id, 1)]
    assert (
        query(db_path, "SELECT COUNT(*) FROM events WHERE run_id = ?", (parent_id,))
        == parent_events
    )
    show = runtui(db_path, "runs", "show", parent_id)
    assert f"forks    {child_id} (failed)" in show.stdout
    child = runtui(db_path, "runs", "show", child_id)
    assert f"parent   {parent_id} (waves <= 1 carried over)" in child.stdout


def test_verify_passes_then_names_an_illegal_phase_event(db_path: Path) -> None:
    assert runtui(db_path, "run", str(FAILING)).returncode == 5
    run_id = only_run(db_path)
    good = runtui(db_path, "verify", run_id)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "phases       ok: CREATED → AUTHORIZED → EXECUTING" in good.stdout
    assert "projections  ok" in good.stdout

    ((last_seq,),) = query(db_path, "SELECT MAX(seq) FROM events WHERE run_id = ?", (run_id,))
    assert isinstance(last_seq, int)
    forged = PhaseChanged(from_phase=RunPhase.FAILED, to_phase=RunPhase.EXECUTING)
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(
            "INSERT INTO events (run_id, seq, kind, wave_index, ts, payload)"
            " VALUES (?, ?, 'phase.changed', NULL, ?, ?)",
            (run_id, last_seq + 1, time.time(), encode_event(forged)),
        )
    conn.close()
    bad = runtui(db_path, "verify", run_id)
    assert bad.returncode == 1, bad.stderr
    assert f"#{last_seq + 1}: FAILED -> EXECUTING is not a legal transition" in bad.stdout
    assert "projections  DIFFER" in bad.stdout  # the forged event was never projected
    assert runtui(db_path, "verify", "nope").returncode == 3


def test_serve_resumes_a_run_killed_mid_attempt_and_stops_on_sigterm(
    db_path: Path, tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    wf = tmp_path / "slow.toml"
    wf.write_text(
        'name = "slow"\n\n'
        '[[tasks]]\nid = "slow"\nkind = "shell"\ncmd = "echo started; sleep 2; echo done"\n\n'
        '[[tasks]]\nid = "second"\nkind = "shell"\nneeds = ["slow"]\ncmd = "echo second"\n'
    )
    cmd = [sys.executable, "-m", "runtui", "--db", str(db_path)]
    runner = subprocess.Popen(
        [*cmd, "run", str(wf)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    procs.append(runner)

    def attempt_running() -> bool:
        if not db_path.exists():
            return False
        try:
            rows = query(db_path, "SELECT status FROM attempts WHERE task_id = 'slow'")
        except sqlite3.OperationalError:  # schema not created yet
            return False
        return rows == [("running",)]

    wait_for(attempt_running, "the slow task's first attempt to start")
    runner.kill()  # SIGKILL: no cleanup, the lock is released by the OS
    runner.communicate(timeout=10)
    run_id = only_run(db_path)
    ((status,),) = query(db_path, "SELECT status FROM runs")
    assert status == "running"

    server = subprocess.Popen(
        [*cmd, "serve"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    procs.append(server)
    wait_for(
        lambda: query(db_path, "SELECT status FROM runs") == [("succeeded",)],
        "the resumed run to succeed under serve",
    )
    statuses: list[str] = []
    for (payload,) in query(
        db_path,
        "SELECT payload FROM events WHERE run_id = ? AND kind = 'run.status' ORDER BY seq",
        (run_id,),
    ):
        assert isinstance(payload, bytes)
        body = decode_event(payload)
        assert isinstance(body, RunStatusChanged)
        statuses.append(body.status.value)
    assert "interrupted" in statuses
    assert statuses[-1] == "succeeded"
    attempts = query(
        db_path, "SELECT attempt, status FROM attempts WHERE task_id = 'slow' ORDER BY attempt"
    )
    assert attempts == [(0, "cancelled"), (1, "completed")]

    server.send_signal(signal.SIGTERM)
    _, err = server.communicate(timeout=10)
    assert server.returncode == 0, err
    assert "took over 1 run(s) nobody drove" in err
    assert f"run {run_id} (slow) succeeded" in err
    assert "SIGTERM: draining" in err
    assert os.path.exists(db_path)


def test_version_and_help_list_the_commands(db_path: Path) -> None:
    version = runtui(db_path, "--version")
    assert version.returncode == 0
    assert version.stdout == "runtui, version 0.1.0\n"
    helptext = runtui(db_path, "--help").stdout
    for command in ("run", "serve", "approve", "reject", "approvals", "rewind", "verify"):
        assert re.search(rf"^  {command}\s", helptext, re.M), command
    assert "7 run waiting for an approval" in helptext
