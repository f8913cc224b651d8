"""End to end in a real terminal: `runtui` in a tmux pane, driven by keys, read from the screen.

Each test starts its own tmux server (a private socket in the test's temp dir), so nothing here
touches a user's tmux. The app runs as `python -m runtui --db FILE` in a 120x40 pane with its
own XDG dirs and log file. Every wait polls `capture-pane` for a condition (every 0.1 s, up to
a deadline); a failed wait reports the last screen it saw.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest

from runtui.demo import demo_workflow_path
from tests.hostile import hostile_workflow

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

POLL_S = 0.1
WAIT_S = 20.0


class Pane:
    """One tmux session on a private server, running one command."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.socket = str(tmp / "tmux.sock")
        self.conf = tmp / "tmux.conf"
        self.status_file = tmp / "exit-status"
        self.name = f"runtui-e2e-{uuid.uuid4().hex[:8]}"
        self.env = env
        self.last = ""

    def tmux(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            ["tmux", "-u", "-S", self.socket, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self, command: str, conf: str = "") -> None:
        """Run `command` in a new 120x40 session; the shell around it records its exit status
        (tmux's own pane_dead_status can lag far behind the pane closing). `conf`: more tmux
        settings for the server (the first session starts it)."""
        self.conf.write_text("set -g remain-on-exit on\n" + conf)  # keep the last screen
        wrapped = f"{command}; echo $? > {shlex.quote(str(self.status_file))}"
        self.tmux(
            "-f", str(self.conf), "new-session", "-d", "-x", "120", "-y", "40", "-s", self.name,
            wrapped,
        )  # fmt: skip

    def screen(self) -> str:
        self.last = self.tmux("capture-pane", "-p", "-t", self.name)
        return self.last

    def show(self, what: str) -> str:
        """A tmux format of the pane, e.g. `#{pane_title}`."""
        return self.tmux("display-message", "-p", "-t", self.name, what).strip()

    def buffers(self) -> str:
        """What is in tmux's paste buffers (an application's OSC 52 lands here)."""
        return self.tmux("list-buffers", "-F", "#{buffer_sample}", check=False)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.name, *keys)

    def wait(self, condition: Callable[[str], bool], what: str, timeout: float = WAIT_S) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.screen()
            if condition(text):
                return text
            time.sleep(POLL_S)
        raise AssertionError(
            f"{what}: not on screen after {timeout:.0f}s; last screen:\n{self.last}"
        )

    def exit_status(self, timeout: float = WAIT_S) -> int:
        """Wait for the command to end; its exit status (written by the shell around it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.status_file.read_text() if self.status_file.exists() else ""
            if text.endswith("\n"):
                return int(text)
            time.sleep(POLL_S)
        self.screen()
        raise AssertionError(f"runtui did not exit; last screen:\n{self.last}")

    def kill(self) -> None:
        self.tmux("kill-server", check=False)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    keep = {"PATH", "HOME", "LANG", "SHELL"}
    out = {k: v for k, v in os.environ.items() if k in keep}
    out.update(
        {
            "LC_ALL": "C.UTF-8",
            "TERM": "xterm-256color",
            "RUNTUI_LOG_FILE": str(tmp_path / "runtui.log"),
            "RUNTUI_DURABILITY": "fast",
        }
    )
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        out[var] = str(tmp_path / "xdg" / var.lower())
    return out


@pytest.fixture
def pane(tmp_path: Path, env: dict[str, str]) -> Iterator[Pane]:
    p = Pane(tmp_path, env)
    try:
        yield p
    finally:
        p.kill()


def runtui_command(db: Path, *args: str) -> str:
    return shlex.join([sys.executable, "-m", "runtui", "--db", str(db), *args])


def sql(db: Path, query: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return conn.execute(query).fetchall()


def statuses(db: Path) -> list[str]:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return [row[0] for row in conn.execute("SELECT status FROM runs")]


def footer(screen: str) -> str:
    return screen.rstrip("\n").splitlines()[-1]


def test_cancel_asks_first_in_a_real_terminal(tmp_path: Path, pane: Pane) -> None:
    """`c` on a live run asks, saying what happens; `n` keeps the run, `y` cancels it."""
    db = tmp_path / "runs.db"
    pane.start(runtui_command(db))
    pane.wait(lambda s: "No runs yet" in s, "the fresh database's welcome")
    pane.keys("n")
    pane.wait(lambda s: "New run: workflow file" in s, "the new-run dialog")
    pane.keys("Enter")
    pane.wait(lambda s: "approval waiting" in s, "the demo at its gate")
    pane.keys("c")
    screen = pane.wait(lambda s: "Cancel the run?" in s, "the cancel question")
    assert "ends cancelled" in screen
    pane.keys("n")
    pane.wait(lambda s: "Cancel the run?" not in s, "the question gone")
    assert statuses(db) == ["awaiting_approval"]
    pane.keys("c")
    pane.wait(lambda s: "Cancel the run?" in s, "the cancel question again")
    pane.keys("y")
    pane.wait(lambda s: "⊘ cancelled" in s, "the run cancelled")
    screen = pane.wait(lambda s: "Cancel" not in footer(s), "the cancel key gone")
    assert "Approve" not in footer(screen)  # nothing left to approve either
    pane.keys("q")  # nothing live is driven here any more: no question
    assert pane.exit_status() == 0
    assert statuses(db) == ["cancelled"]


def test_demo_runs_to_its_gate_and_completes_when_approved(tmp_path: Path, pane: Pane) -> None:
    db = tmp_path / "runs.db"
    pane.start(runtui_command(db))
    pane.wait(lambda s: "No runs yet" in s, "the fresh database's welcome")
    pane.keys("n")
    pane.wait(lambda s: "New run: workflow file" in s, "the new-run dialog")
    pane.keys("Enter")  # pre-filled with the demo
    screen = pane.wait(
        lambda s: "approval waiting" in s and "awaiting_approval" in s, "the demo at its gate"
    )
    assert "Publish the report?" in screen
    # the timeline: its cursor moves with j, enter opens the task under it, esc comes back
    pane.keys("t")
    pane.wait(lambda s: "timeline of 9 tasks" in s, "the timeline")
    pane.keys("j", "j", "j")  # past the two phase lines, down to the second task of wave 0
    pane.keys("Enter")
    task = pane.wait(lambda s: "attempt 0 output" in s, "the task opened from the timeline")
    title = task.splitlines()[0].lstrip()
    assert title.startswith("task ")
    assert "wave 0" in title
    pane.keys("Escape")
    pane.wait(lambda s: "timeline of 9 tasks" in s, "back on the timeline")
    pane.keys("Escape")
    # the footer follows on the next refresh after the approval is read
    pane.wait(lambda s: "Approve" in footer(s), "the approve key in the footer")
    pane.keys("A")  # approve with a comment
    pane.wait(lambda s: "Comment (optional" in s, "the approve dialog")
    pane.keys("-l", "report looks right")
    pane.keys("Enter")
    screen = pane.wait(lambda s: "succeeded" in s and "COMPLETED" in s, "the demo completed")
    assert "⏸ approval waiting (" not in screen  # the banner went (a toast may stay a while)
    ((decided_by, reason),) = sql(db, "SELECT decided_by, reason FROM approvals")
    assert reason == "report looks right"
    assert "@" in str(decided_by)  # user@host: who decided, here
    pane.keys("Escape")
    pane.wait(lambda s: "New run" in footer(s), "the runs screen again")
    pane.keys("q")
    assert pane.exit_status() == 0
    assert statuses(db) == ["succeeded"]
    log = (tmp_path / "runtui.log").read_text()
    assert "Traceback" not in log


def test_read_only_shows_no_approve_key(tmp_path: Path, pane: Pane, env: dict[str, str]) -> None:
    db = tmp_path / "runs.db"
    demo = demo_workflow_path()
    assert demo is not None
    # a run waiting at its gate, left by the command line (exit 7: waiting for an approval)
    done = subprocess.run(
        [sys.executable, "-m", "runtui", "--db", str(db), "run", str(demo)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 7, done.stderr
    pane.start(runtui_command(db, "--read-only"))
    screen = pane.wait(lambda s: "awaiting_approval" in s, "the waiting run in the list")
    assert "read-only" in screen
    assert "New run" not in footer(screen)
    pane.keys("Enter")
    screen = pane.wait(
        lambda s: "Publish the report?" in s and "Search" in footer(s),
        "the run screen with its gate and its keys",
    )
    assert "Approve" not in footer(screen)
    assert "Reject" not in footer(screen)
    assert "a approve" not in screen  # the approval line names no keys either
    pane.keys("a")  # refused with a notice, not acted on
    pane.wait(lambda s: "read-only mode" in s, "the read-only notice")
    pane.keys("q")
    assert pane.exit_status() == 0
    assert statuses(db) == ["awaiting_approval"]


#: Let applications set tmux's paste buffers with OSC 52 (the default, `external`, ignores
#: them): a clipboard write that got through would show up in `list-buffers`.
CLIPBOARD_ON = "set -g set-clipboard on\n"


def test_hostile_strings_leave_the_terminal_alone(
    tmp_path: Path, env: dict[str, str], pane: Pane
) -> None:
    """A run that prints OSC 0/2 (title), OSC 52 (clipboard), screen clears, cursor moves and
    the alternate screen switch, shown by `run --follow` and then by the UI: the pane's title,
    tmux's buffers and the screen stay runtui's. A control pane printing two of those raw
    shows that these checks do see a takeover."""
    raw = Pane(tmp_path / "raw", env)
    (tmp_path / "raw").mkdir()
    try:
        # `read` keeps the pane alive: tmux drops what a process wrote just before it exited
        raw.start(
            r"printf '\033]2;pwned-title\007\033]52;c;cHduZWQ=\007ready\n'; read -r _",
            CLIPBOARD_ON,
        )
        raw.wait(lambda s: "ready" in s, "the raw payloads printed")
        assert raw.show("#{pane_title}") == "pwned-title"
        assert "pwned" in raw.buffers()
    finally:
        raw.kill()

    db, workflow = tmp_path / "runs.db", tmp_path / "hostile.toml"
    workflow.write_text(hostile_workflow())
    follow = runtui_command(db, "run", str(workflow), "--follow")
    pane.start(f"{follow}; echo exit $?; read -r _", CLIPBOARD_ON)
    screen = pane.wait(lambda s: "exit 7" in s, "the run at its gate (exit 7)")
    assert "pwned" not in pane.show("#{pane_title}")
    assert pane.buffers() == ""
    assert pane.show("#{alternate_on}") == "0"
    assert "awaiting_approval" in screen  # nothing cleared or drew over the last lines
    assert "waiting: task approval for gate: 100% pwned" in screen
    pane.kill()

    tui = Pane(tmp_path / "tui", env)
    (tmp_path / "tui").mkdir()
    try:
        tui.start(runtui_command(db), CLIPBOARD_ON)
        tui.wait(lambda s: "wf-pwned␇[b]md[/b]" in s, "the hostile run in the list")
        tui.keys("Enter")
        screen = tui.wait(
            lambda s: "100% pwned" in s and "loud|" in s and "Approve" in footer(s),
            "the run screen with its gate, its log and its keys",
        )
        assert screen.splitlines()[0].lstrip().startswith("run ")  # the header stays on top
        assert "Phases" in screen  # the phase panel is not drawn over
        tui.keys("i")
        tui.wait(lambda s: "Approvals waiting (1)" in s, "the approvals inbox")
        assert "pwned" not in tui.show("#{pane_title}")
        assert tui.buffers() == ""
        assert tui.show("#{alternate_on}") == "1"  # still the UI's screen
        tui.keys("q")  # the UI drives the waiting run: it says so and asks
        tui.wait(lambda s: "Quit runtui?" in s and "hands them over" in s, "the quit question")
        tui.keys("y")
        assert tui.exit_status() == 0
    finally:
        tui.kill()


def test_a_shell_runs_and_approves_beside_the_open_ui_which_shows_it_live(
    tmp_path: Path, pane: Pane, env: dict[str, str]
) -> None:
    """With the UI open on the database, `runtui run` from a shell drives its run and the UI
    shows it live; the run, left at its gate, is handed over to the UI's runtime, and a shell's
    `runtui approve` goes to the UI as a command; the UI shows each effect as it happens. The
    new approval is announced with desktop notifications too, which inside tmux go through its
    passthrough (on here): none of it shows on screen."""
    db = tmp_path / "runs.db"
    alerts = "RUNTUI_APPROVAL_ALERT=toast,bell,osc9,osc777 "
    pane.start(alerts + runtui_command(db), "set -g allow-passthrough on\n")
    pane.wait(lambda s: "No runs yet" in s, "the fresh database's welcome")

    def shell(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "runtui", "--db", str(db), *args],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )

    run = shell("run", "--demo")
    assert run.returncode == 7, run.stderr
    pane.wait(lambda s: "awaiting_approval" in s, "the UI to list the run at its gate")
    toasted = pane.wait(lambda s: "approval waiting" in s, "the new approval's toast")
    for leak in ("]9;", "777;notify", "tmux;"):
        assert leak not in toasted  # the notifications reached no cell of the screen
    held = (
        "SELECT o.label FROM run_leases l JOIN owners o ON o.owner_id = l.owner"
        " WHERE l.expires_at > 0"
    )
    deadline = time.monotonic() + 20
    while not [label for (label,) in sql(db, held) if str(label).endswith("(runtui)")]:
        assert time.monotonic() < deadline, f"the UI never took the run over: {sql(db, held)}"
        time.sleep(0.05)  # the shell's command released it at exit; the UI claims it
    (line,) = [x for x in run.stdout.splitlines() if x.strip().startswith("approve:")]
    approval_id = line.split()[-1]
    approved = shell("approve", approval_id, "--by", "shell-user")
    assert approved.returncode == 0, approved.stderr
    pane.wait(lambda s: "succeeded" in s, "the UI to show the run succeeded")
    assert sql(db, "SELECT kind, state FROM commands") == [("approve", "done")]
    pane.keys("q")
    assert pane.exit_status() == 0
    assert statuses(db) == ["succeeded"]
