"""The command line beside a running `runtui serve` (a real subprocess with its HTTP API).

Runtime commands on the server's database find it through the database's lock file and go
through its API instead of failing with exit 4; `--server URL` sends reads there too; a wrong
token is exit 2 and a server that is not there exit 1, naming the URL.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from runtui.identity import who_decides
from runtui.store.leases import serving_url
from tests.hostile import SHORT, assert_terminal_safe, checked, hostile_workflow

#: The name a test server's own token records decisions under (who runs it).
OWNER = who_decides()


TOKEN = "cli-test-token"

GATED = """
name = "gated"

[[tasks]]
id = "build"
kind = "shell"
cmd = "echo built"

[[tasks]]
id = "ship"
kind = "gate"
prompt = "Ship it?"
needs = ["build"]
"""

SLEEPY = """
name = "sleepy"

[[tasks]]
id = "nap"
kind = "sleep"
seconds = 60
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def query(db: Path | str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Rows of `sql` from either store (a SQLite file read-only, or a PostgreSQL URL)."""
    if isinstance(db, str):
        from tests.databases import sql as on_either

        return on_either(db, sql, *params)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


def runtui(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtui", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


@dataclass
class Server:
    url: str
    db: Path
    process: subprocess.Popen[str]
    log: Path


@pytest.fixture
def server(tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """`runtui serve` on a free port; stopped with SIGTERM (exit 0) at the end."""
    monkeypatch.setenv("RUNTUI_TOKEN", TOKEN)  # the server's and every command's
    monkeypatch.delenv("RUNTUI_SERVER", raising=False)
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "runtui", "--db", str(db_path), "serve", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
        )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(ready, "runtui serve to answer")
        yield Server(url, db_path, process, log)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_runtime_commands_on_the_servers_database_go_through_its_api(
    server: Server, tmp_path: Path
) -> None:
    db = str(server.db)
    assert serving_url(server.db) == server.url  # recorded beside the server's name
    workflow = tmp_path / "gated.toml"
    workflow.write_text(GATED)

    run = runtui("--db", db, "run", str(workflow))
    assert run.returncode == 7, run.stderr  # waiting, as the embedded command says
    assert f"sending the command to its API ({server.url})" in run.stderr
    assert "gated): awaiting_approval" in run.stdout
    (run_id,) = (str(r[0]) for r in query(server.db, "SELECT run_id FROM runs"))

    pending = runtui("--db", db, "approvals", "--json")  # a read: straight from the database
    assert pending.returncode == 0, pending.stderr
    approval_id = json.loads(pending.stdout.splitlines()[0])["approval_id"]

    approve = runtui("--db", db, "approve", approval_id, "--by", "ann", "--follow")
    assert approve.returncode == 0, approve.stderr
    assert (
        f"approved {approval_id} (task approval for ship of run {run_id}) by {OWNER} (as ann)"
        in (approve.stdout)
    )
    assert "approval.decided" in approve.stdout  # --follow: the events, from the stream
    assert f"run {run_id} (gated): succeeded" in approve.stdout
    assert query(server.db, "SELECT status FROM runs") == [("succeeded",)]
    assert query(server.db, "SELECT decided_by FROM approvals") == [(f"{OWNER} (as ann)",)]
    assert f"run {run_id} (gated) succeeded" in server.log.read_text()  # the server drove it
    assert server.process.poll() is None

    again = runtui("--db", db, "approve", approval_id)
    assert again.returncode == 2
    assert f"already decided: approve by {OWNER} (as ann)" in again.stderr


def test_cancel_and_reject_through_the_api(server: Server, tmp_path: Path) -> None:
    db = str(server.db)
    sleepy = tmp_path / "sleepy.toml"
    sleepy.write_text(SLEEPY)
    with subprocess.Popen(
        [sys.executable, "-m", "runtui", "--db", db, "run", str(sleepy)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as watcher:
        try:
            wait_for(
                lambda: (
                    query(server.db, "SELECT status FROM tasks WHERE task_id = 'nap'")
                    == [("running",)]
                ),
                "the nap to start",
            )
            (run_id,) = (str(r[0]) for r in query(server.db, "SELECT run_id FROM runs"))
            cancel = runtui("--db", db, "cancel", run_id)
            assert cancel.returncode == 0, cancel.stderr
            assert "cancelled" in cancel.stdout
            out, err = watcher.communicate(timeout=30)
        finally:
            if watcher.poll() is None:
                watcher.kill()
    assert watcher.returncode == 6, err  # the `run` watching it saw it cancelled
    assert f"run {run_id} (sleepy): cancelled" in out

    gated = tmp_path / "gated.toml"
    gated.write_text(GATED)
    assert runtui("--db", db, "run", str(gated)).returncode == 7
    (approval_id,) = (str(r[0]) for r in query(server.db, "SELECT approval_id FROM approvals"))
    reject = runtui("--db", db, "reject", approval_id, "--reason", "not today")
    assert reject.returncode == 5, reject.stderr
    assert "approval_rejected" in reject.stdout


def test_server_option_reads_through_the_api_and_fails_clearly(
    server: Server, tmp_path: Path
) -> None:
    gated = tmp_path / "gated.toml"
    gated.write_text(GATED)
    elsewhere = str(tmp_path / "not-the-servers.db")  # the API answers, not this file
    run = runtui("--db", elsewhere, "--server", server.url, "run", str(gated))
    assert run.returncode == 7, run.stderr
    assert "sending the command" not in run.stderr  # asked for, so no note
    assert f"runtui --server {server.url} --db {elsewhere} approve " in run.stdout

    listed = runtui("--db", elsewhere, "--server", server.url, "runs", "ls")
    assert listed.returncode == 0, listed.stderr
    assert "gated" in listed.stdout
    assert "awaiting_approval" in listed.stdout
    assert not Path(elsewhere).exists()

    env = {**os.environ, "RUNTUI_SERVER": server.url}
    pending = runtui("approvals", env=env)
    assert pending.returncode == 0, pending.stderr
    assert "Ship it?" in pending.stdout

    wrong = runtui("--server", server.url, "runs", "ls", env={**env, "RUNTUI_TOKEN": "nope"})
    assert wrong.returncode == 2
    assert "unauthorized: check the token" in wrong.stderr

    nobody = f"http://127.0.0.1:{free_port()}"
    lost = runtui("--server", nobody, "runs", "ls")
    assert lost.returncode == 1
    assert f"cannot reach the runtui server at {nobody}" in lost.stderr
    lost = runtui("--server", nobody, "approve", "some-id")
    assert lost.returncode == 1
    assert nobody in lost.stderr


def test_global_options_after_the_command_name(server: Server, tmp_path: Path) -> None:
    """`runtui runs ls --server URL` as well as `runtui --server URL runs ls`; given in both
    places, the one after the command name wins."""
    gated = tmp_path / "gated.toml"
    gated.write_text(GATED)
    elsewhere = str(tmp_path / "not-the-servers.db")
    nobody = f"http://127.0.0.1:{free_port()}"

    run = runtui("--server", nobody, "run", str(gated), "--server", server.url, "--db", elsewhere)
    assert run.returncode == 7, run.stderr

    pending = runtui("approvals", "--json", "--server", server.url)
    assert pending.returncode == 0, pending.stderr
    approval_id = json.loads(pending.stdout.splitlines()[0])["approval_id"]

    approve = runtui("approve", approval_id, "--by", "ann", "--server", server.url)
    assert approve.returncode == 0, approve.stderr
    listed = runtui("runs", "ls", "--server", server.url)
    assert listed.returncode == 0, listed.stderr
    assert "succeeded" in listed.stdout
    assert query(server.db, "SELECT decided_by FROM approvals") == [(f"{OWNER} (as ann)",)]
    assert not Path(elsewhere).exists()

    by_db = runtui("db", "info", "--db", str(server.db))  # a nested group's command, --db
    assert by_db.returncode == 0, by_db.stderr
    assert str(server.db) in by_db.stdout


def test_a_hostile_run_through_the_server_and_the_serve_log_are_terminal_safe(
    server: Server, tmp_path: Path
) -> None:
    """The serve log names the run's workflow, gate prompt and error; the commands that go
    through the API print what it sends back: none of it may drive a terminal."""
    db = str(server.db)
    hostile = tmp_path / "hostile.toml"
    hostile.write_text(hostile_workflow())
    out = checked(runtui("--db", db, "run", str(hostile), "--follow"), 7)
    assert "loud! pwned" in out  # followed on the server's event stream
    (run_id,) = (str(r[0]) for r in query(server.db, "SELECT run_id FROM runs"))
    assert "wf-pwned␇[b]md[/b]" in checked(runtui("--server", server.url, "runs", "ls"))
    shown = checked(runtui("--server", server.url, "runs", "show", run_id, "--events"))
    assert "policy-pwned␇[b]md[/b]" in shown
    pending = checked(runtui("--server", server.url, "approvals"))
    assert "100% pwned" in pending
    (approval_id,) = (str(r[0]) for r in query(server.db, "SELECT approval_id FROM approvals"))
    checked(runtui("--db", db, "reject", approval_id, "--reason", SHORT), 5)

    wait_for(lambda: f"run {run_id} (wf-" in server.log.read_text(), "the run's end in the log")
    log = server.log.read_text()
    assert_terminal_safe(log, "the serve log")
    assert f"run {run_id} (wf-pwned␇[b]md[/b]) failed" in log
    assert f"run {run_id} waits for approval {approval_id} (gate): 100% pwned" in log
