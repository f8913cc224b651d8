"""`runtui ... | head -1`: a reader that closes the pipe early is a quiet success.

Each command writes far more than a pipe holds (64 KiB), its reader takes one line and closes
the read end, so the command's next write really fails with EPIPE: it must exit 0, with nothing
on stderr (no message, no traceback, no "Exception ignored" from Python's flush at exit).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anyio
import msgspec
import pytest

from runtui.domain.events import AttemptOutput, PendingEvent
from runtui.store import open_store
from tests.factories import full_run

PIPE_BUFFER = 65536
LOUD = 'name = "loud"\n[[tasks]]\nid = "talk"\nkind = "shell"\ncmd = "seq 1 200000"\n'


@pytest.fixture(scope="module")
def many_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,000 finished runs; `run0` printed 5,000 lines."""
    db = tmp_path_factory.mktemp("pipes") / "runs.db"

    def chatty(event: PendingEvent) -> PendingEvent:
        if isinstance(event.body, AttemptOutput):
            lines = [f"line {i} of what fetch printed" for i in range(5000)]
            return msgspec.structs.replace(
                event, body=msgspec.structs.replace(event.body, lines=lines)
            )
        return event

    async def seed() -> None:
        async with open_store(db) as store:
            await store.writer.append_many([chatty(e) for e in full_run("run0", t0=1.79e9)])
            for i in range(1, 1000):
                await store.writer.append_many(full_run(f"run{i}", t0=1.79e9 + i))

    anyio.run(seed)
    return db


def first_line_then_close(*args: str) -> tuple[int, bytes, str]:
    """Run `runtui ARGS` with stdout to a pipe; read one line, close the read end, wait."""
    with subprocess.Popen(
        [sys.executable, "-m", "runtui", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()
        code = proc.wait(timeout=60)
        return code, first, proc.stderr.read().decode()


@pytest.mark.parametrize(
    "command",
    [
        ["runs", "ls", "--limit", "1000"],
        ["runs", "ls", "--limit", "1000", "--json"],
        ["runs", "show", "run0", "--events"],
        ["history", "export"],
    ],
    ids=" ".join,
)
def test_a_reader_that_leaves_early_is_a_quiet_success(many_runs: Path, command: list[str]) -> None:
    args = ["--db", str(many_runs), *command]
    whole = subprocess.run(
        [sys.executable, "-m", "runtui", *args], capture_output=True, timeout=60, check=True
    )
    assert len(whole.stdout) > PIPE_BUFFER  # more than the pipe holds: the write must fail

    code, first, err = first_line_then_close(*args)
    assert first
    assert err == ""
    assert code == 0


def test_run_follow_into_a_closed_pipe_exits_0_and_leaves_the_run_live(tmp_path: Path) -> None:
    workflow = tmp_path / "loud.toml"
    workflow.write_text(LOUD)
    db = tmp_path / "runs.db"
    code, first, err = first_line_then_close("--db", str(db), "run", str(workflow), "--follow")
    assert first.startswith(b"run ")
    assert err == ""
    assert code == 0
    # the run is not lost: the next runtime command resumes it and drives it to its end
    resumed = subprocess.run(
        [sys.executable, "-m", "runtui", "--db", str(db), "resume"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed 1 run(s)" in resumed.stdout
    assert "(loud): succeeded" in resumed.stdout
