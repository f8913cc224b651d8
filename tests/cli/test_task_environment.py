"""Where a task runs and with what environment is fixed when its run is submitted, so it does
not depend on which process drives the run: here `runtui run` submits from one directory with
one environment, and `runtui approve` takes the run over from another directory with another."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cli.test_cli_server import query

SHOW = 'cmd = "pwd; echo lang=$LANG; echo token=${RUNTUI_TOKEN:-none}; echo other=${OTHER:-none}"'
WORKFLOW = f"""
name = "where"
[[tasks]]
id = "before"
kind = "shell"
cwd = "sub"
{SHOW}
[[tasks]]
id = "gate"
kind = "gate"
needs = ["before"]
[[tasks]]
id = "after"
kind = "shell"
cwd = "sub"
needs = ["gate"]
{SHOW}
[[tasks]]
id = "nowhere"
kind = "shell"
needs = ["gate"]
cmd = "pwd"
"""


def runtui_in(cwd: Path, env: dict[str, str], db: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "runtui", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), **env},
    )
    assert done.returncode in (0, 7), done.stdout + done.stderr
    return done.stdout


def test_a_hand_over_keeps_the_submitters_directory_and_environment(
    db_path: Path, tmp_path: Path
) -> None:
    home = tmp_path / "project"
    (home / "sub").mkdir(parents=True)
    (home / "wf.toml").write_text(WORKFLOW)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    submitter = {"LANG": "C.UTF-8", "RUNTUI_TOKEN": "secret-token", "OTHER": "not-passed"}
    runtui_in(tmp_path, submitter, db_path, "run", "project/wf.toml")
    ((approval_id,),) = query(db_path, "SELECT approval_id FROM approvals")
    approver = {"LANG": "POSIX", "RUNTUI_TOKEN": "another", "OTHER": "still-not"}
    runtui_in(elsewhere, approver, db_path, "approve", str(approval_id))

    tails = dict(query(db_path, "SELECT task_id, output_tail FROM attempts"))
    expected = f"{home / 'sub'}\nlang=C.UTF-8\ntoken=none\nother=none"
    assert tails["before"] == expected
    assert tails["after"] == expected  # not the approver's directory, language or token
    assert tails["nowhere"] == str(home)  # no cwd: the workflow file's directory
