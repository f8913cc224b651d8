"""Where a task runs and with what environment is fixed when its run is submitted, so it does
not depend on which process drives the run: here `runtui run` submits from one directory with
one environment, and `runtui approve` takes the run over from another directory with another."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cli.serving import TOKEN, Serve
from tests.cli.test_cli_server import query, wait_for

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


def test_through_a_server_the_file_s_directory_and_the_server_s_environment(
    db_path: Path, tmp_path: Path, serve: Serve
) -> None:
    """`runtui run FILE` beside a server sends the file's directory; the environment is the
    one of the process that accepted the run (the server), without its token."""
    home = tmp_path / "project"
    (home / "sub").mkdir(parents=True)
    (home / "wf.toml").write_text(WORKFLOW)
    serve.start()  # its environment holds RUNTUI_TOKEN
    runtui_in(tmp_path, {"RUNTUI_TOKEN": TOKEN}, db_path, "run", "project/wf.toml")
    ((approval_id,),) = query(db_path, "SELECT approval_id FROM approvals")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    runtui_in(elsewhere, {"RUNTUI_TOKEN": TOKEN}, db_path, "approve", str(approval_id))
    wait_for(
        lambda: len(query(db_path, "SELECT 1 FROM attempts WHERE output_tail IS NOT NULL")) == 3,
        "every task to run",
    )
    tails = dict(query(db_path, "SELECT task_id, output_tail FROM attempts"))
    lang = os.environ.get("LANG", "")
    expected = f"{home / 'sub'}\nlang={lang}\ntoken=none\nother=none"
    assert tails["before"] == expected
    assert tails["after"] == expected
    assert tails["nowhere"] == str(home)
