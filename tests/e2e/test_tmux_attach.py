"""End to end: `runtui serve` in one process, `runtui attach` in a tmux pane, driven by keys.

A workflow with two gates in a row is submitted through the API. The attached UI approves the
first gate by keyboard and sees the second one arrive; the server is killed with SIGKILL and
the UI says it is disconnected (keys that need the server show a notice instead of crashing
it); a new server on the same port and database comes up and the UI says the runtime is up
again and re-reads the inbox; the second gate is approved by keyboard and the run completes.
Every wait polls a condition (the screen, the API, the database) up to a deadline; there are no
fixed sleeps. Skipped without tmux.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtui.identity import who_decides

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

#: The name a test server's own token records decisions under (who runs it).
OWNER = who_decides()

TOKEN = "e2e-attach-token"
WAIT_S = 30.0

TWO_GATES = """
name = "two-gates"
timeout_s = 600

[[tasks]]
id = "build"
kind = "shell"
cmd = "echo built"

[[tasks]]
id = "first"
kind = "gate"
prompt = "First gate?"
needs = ["build"]

[[tasks]]
id = "second"
kind = "gate"
prompt = "Second gate?"
needs = ["first"]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    """Poll `check` until it returns something truthy; return it. Fail naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


class Pane:
    """A 120x40 tmux session on a private tmux server (a socket in the test's temp dir)."""

    def __init__(self, tmp: Path) -> None:
        self.socket = str(tmp / "tmux.sock")
        self.name = f"attach-{uuid.uuid4().hex[:8]}"
        self.status_file = tmp / "attach-exit-status"
        self.last = ""

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-u", "-S", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        assert done.returncode == 0, f"tmux {' '.join(args)}: {done.stderr.strip()}"
        return done.stdout

    def start(self, command: str) -> None:
        # the shell records the exit status and keeps the last screen for a failure report
        wrapped = f"{command}; echo $? > {shlex.quote(str(self.status_file))}; sleep 600"
        self.tmux("new-session", "-d", "-x", "120", "-y", "40", "-s", self.name, wrapped)

    def screen(self) -> str:
        self.last = self.tmux("capture-pane", "-p", "-t", self.name)
        return self.last

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.name, *keys)

    def wait(self, condition: Callable[[str], bool], what: str) -> str:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            text = self.screen()
            if condition(text):
                return text
            time.sleep(0.1)
        size = self.tmux("display", "-p", "-t", self.name, "#{window_width}x#{window_height}")
        pytest.fail(f"timed out waiting for {what}; the screen ({size.strip()}):\n{self.last}")

    def close(self) -> None:
        subprocess.run(
            ["tmux", "-S", self.socket, "kill-server"], capture_output=True, timeout=10, check=False
        )


class Serve:
    """`runtui serve` on a fixed port and database, restartable."""

    def __init__(self, db: Path, port: int, logs: Path) -> None:
        self.db = db
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.logs = logs
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with (self.logs / f"serve-{self.starts}.log").open("wb") as log:
            argv = [sys.executable, "-m", "runtui", "--db", str(self.db), "serve"]
            self.process = subprocess.Popen(
                [*argv, "--port", str(self.port)],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        wait_until(self.ready, f"runtui serve #{self.starts} to answer on {self.url}")

    def ready(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, self.log()
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def log(self) -> str:
        return (self.logs / f"serve-{self.starts}.log").read_text(errors="replace")

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(
            method,
            f"{self.url}{path}",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
            **kwargs,
        )
        assert response.status_code < 300, response.text
        return response.json()

    def stop(self, sig: signal.Signals) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return self.process.wait(timeout=30)

    def kill_if_running(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def parts(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Serve, Pane]]:
    monkeypatch.setenv("RUNTUI_TOKEN", TOKEN)
    monkeypatch.delenv("RUNTUI_SERVER", raising=False)
    server, pane = Serve(db_path, free_port(), tmp_path), Pane(tmp_path)
    try:
        yield server, pane
    finally:
        pane.close()
        server.kill_if_running()


def pending_gate(server: Serve) -> str | None:
    rows = server.api("GET", "/api/approvals")
    return rows[0]["task_id"] if rows else None


def test_attached_tui_approves_survives_a_killed_server_and_finishes_the_run(
    parts: tuple[Serve, Pane],
) -> None:
    server, pane = parts
    server.start()
    run_id = server.api("POST", "/api/runs", json={"toml": TWO_GATES})["run_id"]
    wait_until(lambda: pending_gate(server) == "first", "the first gate to wait")

    env = {k: v for k, v in os.environ.items() if k.startswith(("XDG_", "RUNTUI_"))}
    assignments = [shlex.quote(f"{k}={v}") for k, v in sorted(env.items())]
    attach = [shlex.quote(sys.executable), "-m", "runtui", "attach", server.url]
    # no COLUMNS/LINES: a shell may export its size from before tmux sized the pane, and
    # Textual would believe them over the terminal itself
    command = " ".join(["env", "-u", "COLUMNS", "-u", "LINES", *assignments, *attach])
    pane.start(command)
    pane.wait(
        lambda s: "runtime up" in s and "1 approval waiting" in s and "two-gates" in s,
        "the attached UI to show the waiting run",
    )
    assert f"remote: 127.0.0.1:{server.port}" in pane.last

    pane.keys("i")  # the inbox
    pane.wait(lambda s: "First gate?" in s, "the inbox to list the first gate")
    pane.keys("a")
    wait_until(lambda: pending_gate(server) == "second", "the second gate to wait (API)")
    pane.wait(
        lambda s: "Second gate?" in s and "First gate?" not in s,
        "the inbox to show the second gate in place of the first",
    )

    server.stop(signal.SIGKILL)
    pane.wait(lambda s: "disconnected, retrying" in s, "the UI to say it lost the server")
    assert "Second gate?" in pane.last  # what it knew stays on screen
    pane.keys("Escape")  # back to the runs, and a re-read while the server is away:
    pane.wait(lambda s: "Filter:" in s, "the runs screen")
    pane.keys("2")  # a notice, not a crash
    pane.wait(lambda s: "cannot reach the runtui server" in s, "the UI to say the read failed")
    pane.keys("i")  # the inbox again: it cannot list anything yet
    pane.wait(
        lambda s: "Approvals waiting" in s and "Second gate?" not in s,
        "an empty inbox while the server is away",
    )

    server.start()  # same port, same database: the run resumes, its gate still pending
    pane.wait(
        lambda s: "runtime up" in s and "disconnected" not in s and "Second gate?" in s,
        "the UI to reconnect and re-read the inbox",
    )
    assert pending_gate(server) == "second"
    pane.keys("a")
    wait_until(
        lambda: server.api("GET", f"/api/runs/{run_id}")["status"] == "succeeded",
        "the run to complete after the second approval",
    )
    pane.wait(lambda s: "no approvals waiting" in s, "the UI to show nothing waiting")

    assert server.stop(signal.SIGTERM) == 0, server.log()
    with closing(sqlite3.connect(f"file:{server.db}?mode=ro", uri=True)) as db:
        assert db.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchall() == [
            ("succeeded",)
        ]
        decisions = db.execute(
            "SELECT task_id, decision, decided_by FROM approvals ORDER BY requested_at"
        ).fetchall()
    assert decisions == [("first", "approve", OWNER), ("second", "approve", OWNER)]

    pane.keys("q")
    wait_until(lambda: pane.status_file.exists(), "the attached UI to quit")
    assert pane.status_file.read_text().strip() == "0", pane.screen()
